#!/usr/bin/env bash
# far call reaches every example server (examples/, each on a Unix socket,
# registered with a private farbind) with real JSON arguments, and by every
# kind of name: PROG by number, by the .x name from the server's LIST, by
# the binder's names (the .x name farcall registers, a far name), by its
# /etc/rpc name (the binder itself, portmapper / rpcbind), VERS and
# PROC by number or name.  far describe of each example compiles with
# fargen and with rpcgen; --source is the .x file.  FAR_REFLECT itself is
# never registered.
#   dyn_examples.sh BUILD_DIR SOURCE_DIR [RPCGEN]
. "$(dirname "$0")/common.sh" "$@"
[ -n "$RPCGEN" ] || fail "rpcgen not found: install rpcsvc-proto (scripts/deps.sh)"
start_binder
# authcomp serves at the privacy level only, with the key in this file
head -c 32 /dev/urandom >"$TMP/authcomp.key" && chmod 600 "$TMP/authcomp.key"
export AUTHCOMP_KEY=$TMP/authcomp.key
AC=(--level priv --key "$AUTHCOMP_KEY" --identity authcomp)
for e in calc echo rdir rtime primes sysauth authcomp; do
  start_server "$e" "$TMP" "$EX/$e/${e}_server" "unix:$TMP/$e.sock"
done
S() { echo "unix:$TMP/$1.sock"; }

# --- calc: floats, a struct
expect_json "calc MULTIPLY" 42 "$FAR" call "$(S calc)" CALC_PROG.1.MULTIPLY '{"a": 6, "b": 7}'
r=$("$FAR" call "$(S calc)" CALC_PROG.CALC_V1.SQUARE_ROOT 42) || fail "calc SQUARE_ROOT"
[ "$(json_get "$r" 'round(v, 4)')" = 6.4807 ] || fail "sqrt(42) is not $r"
pass "calc SQUARE_ROOT by version name"
expect_json "calc by number, proc by number" 12 "$FAR" call "$(S calc)" 0x20000330.1.1 '{"a": 3, "b": 4}'
expect_json "calc by decimal number, proc name in lower case" 12 \
  "$FAR" call "$(S calc)" 536871728.1.multiply '{"a": 3, "b": 4}'
expect_err "calc: a negative root is the server's GARBAGE_ARGS" "SQUARE_ROOT: .*(decode|GARBAGE)" \
  "$FAR" call "$(S calc)" CALC_PROG.1.SQUARE_ROOT -- -1
expect_err "calc: a member missing is named" "arguments of MULTIPLY: .*b" \
  "$FAR" call "$(S calc)" CALC_PROG.1.MULTIPLY '{"a": 6}'
expect_err "calc: no such procedure" "DIVIDE" "$FAR" call "$(S calc)" CALC_PROG.1.DIVIDE '{}'
expect_err "calc: no such version" "no version 'CALC_V9'" \
  "$FAR" call "$(S calc)" CALC_PROG.CALC_V9.MULTIPLY '{}'
expect_err "calc: no such program" "no program 'NOPE_PROG'" "$FAR" call "$(S calc)" NOPE_PROG.1.X '{}'

# --- through the binder: HOST a host name, PROG the .x name farcall registers
expect_json "calc via localhost's binder, by its .x name" 42 \
  "$FAR" call localhost CALC_PROG.1.MULTIPLY '{"a": 6, "b": 7}'
expect_json "calc via the binder's address" 42 \
  "$FAR" call "$FARCALL_BINDER" CALC_PROG.1.MULTIPLY '{"a": 6, "b": 7}'
"$FAR" name set calculator 0x20000330 >/dev/null || fail "far name set calculator"
expect_json "calc by a name the binder keeps" 42 \
  "$FAR" call "" calculator.1.MULTIPLY '{"a": 21, "b": 2}'
"$FAR" info -x >"$TMP/info" || fail "far info"
grep -q 20000330 "$TMP/info" || fail "calc is not registered: $(cat "$TMP/info")"
grep -qi 20fa0b1e "$TMP/info" && fail "FAR_REFLECT was registered with the binder: $(cat "$TMP/info")"
pass "FAR_REFLECT is not registered with the binder"

# --- PROG by its /etc/rpc name: the binder itself is program 100000,
# "portmapper" (aliases portmap, sunrpc, rpcbind) in netbase's /etc/rpc
grep -Eq '^portmapper[[:space:]]+100000\b' /etc/rpc || fail "/etc/rpc has no portmapper line"
expect_json "the binder by its /etc/rpc name" null \
  "$FAR" call "$FARCALL_BINDER" portmapper.2.PMAPPROC_NULL null
expect_json "the binder by an /etc/rpc alias, with --x" 0 \
  "$FAR" call --x "$SRC/tools/farbind/rpcb_prot.x" "$FARCALL_BINDER" rpcbind.2.PMAPPROC_GETPORT \
  '{"prog": 536871728, "vers": 1, "prot": 6, "port": 0}'

# --- echo: a string
expect_json "echo ECHO" '"hello, farcall"' "$FAR" call "$(S echo)" ECHO_PROG.1.ECHO '"hello, farcall"'
expect_json "echo: UTF-8 both ways" '"grüße, 世界"' "$FAR" call "$(S echo)" ECHO_PROG.1.ECHO '"grüße, 世界"'
expect_err "echo: a number is not a string" "arguments of ECHO: .*string" \
  "$FAR" call "$(S echo)" ECHO_PROG.1.ECHO 5

# --- rtime: void arguments, an unsigned hyper as a string
r=$("$FAR" call "$(S rtime)" RTIME_PROG.1.GETTIME null) || fail "rtime GETTIME"
secs=$(json_get "$r" 'v["seconds"]')
now=$(date +%s)
[ "$(json_get "$r" 'type(v["seconds"]).__name__')" = str ] || fail "hyper not a string: $r"
[ $((now - secs)) -le 5 ] && [ $((secs - now)) -le 5 ] || fail "rtime $secs is not now ($now)"
[ "$(json_get "$r" '0 <= v["microseconds"] < 1000000')" = True ] || fail "microseconds: $r"
"$FAR" call "$(S rtime)" RTIME_PROG.1.GETTIME "" >/dev/null || fail "rtime with an empty argument"
pass "rtime GETTIME (seconds $secs)"

# --- primes: unsigned hypers, a bounded array, a void result
expect_json "primes COUNT" '{"count": 17984, "last": ["199933", "199961", "199967", "199999"]}' \
  "$FAR" call "$(S primes)" PRIMES_PROG.1.COUNT '{"lo": "0", "hi": "200000"}'
expect_json "primes COUNT, hypers as JSON numbers" '{"count": 4, "last": ["2", "3", "5", "7"]}' \
  "$FAR" call "$(S primes)" PRIMES_PROG.1.COUNT '{"lo": 0, "hi": 10}'
expect_json "primes NAP: void result" null "$FAR" call "$(S primes)" PRIMES_PROG.1.NAP 10
expect_err "primes: lo > hi is GARBAGE_ARGS" "COUNT: .*(decode|GARBAGE)" \
  "$FAR" call "$(S primes)" PRIMES_PROG.1.COUNT '{"lo": "9", "hi": "1"}'
expect_err "primes: a negative unsigned hyper names the field" "arguments of COUNT: .*lo" \
  "$FAR" call "$(S primes)" PRIMES_PROG.1.COUNT '{"lo": "-1", "hi": "1"}'
# a batch: one line a call, going on after errors, exit 1 if any failed
printf '%s\n' '{"lo": 0, "hi": 10}' '{"lo": 0}' '' '{"lo": 10, "hi": 20}' |
  "$FAR" call "$(S primes)" PRIMES_PROG.1.COUNT - >"$TMP/batch" && fail "a batch with an error exited 0"
[ "$(wc -l <"$TMP/batch")" = 3 ] || fail "batch: $(cat "$TMP/batch")"
sed -n 2p "$TMP/batch" | grep -q "^error: arguments of COUNT: .*hi" || fail "batch error line: $(cat "$TMP/batch")"
[ "$(json_get "$(sed -n 3p "$TMP/batch")" 'v["count"]')" = 4 ] || fail "batch line 3: $(cat "$TMP/batch")"
printf '{"lo": 0, "hi": 10}\n{"lo": 0, "hi": 100}\n' | "$FAR" call "$(S primes)" PRIMES_PROG.1.COUNT - \
  >"$TMP/batch" || fail "a good batch failed"
[ "$(json_get "$(sed -n 2p "$TMP/batch")" 'v["count"]')" = 25 ] || fail "batch: $(cat "$TMP/batch")"
pass "primes: batches from standard input"

# --- sysauth: AUTH_SYS credentials
me=$(id -u)
r=$("$FAR" call --auth-sys "$(S sysauth)" SYSAUTH_PROG.1.WHOAMI null) || fail "sysauth WHOAMI"
[ "$(json_get "$r" 'v["uid"]')" = "$me" ] && [ "$(json_get "$r" 'v["peer_known"]')" = True ] &&
  [ "$(json_get "$r" 'v["peer_uid"]')" = "$me" ] || fail "sysauth WHOAMI: $r"
pass "sysauth WHOAMI with --auth-sys"
expect_json "sysauth SECRET" '"the owls are not what they seem"' \
  "$FAR" call --auth-sys "$(S sysauth)" SYSAUTH_PROG.1.SECRET null
expect_err "sysauth without credentials: refused" "SECRET: .*(auth|credential)" \
  "$FAR" call "$(S sysauth)" SYSAUTH_PROG.1.SECRET null

# --- authcomp: two programs on one server, names, hypers out, at the privacy level
expect_json "authcomp USER_NAME" '"root"' "$FAR" call "${AC[@]}" "$(S authcomp)" AUTH_PROG.1.USER_NAME 0
expect_json "authcomp USER_ID" 0 "$FAR" call "${AC[@]}" "$(S authcomp)" AUTH_PROG.1.USER_ID '"root"'
expect_err "authcomp without a level: refused" "USER_ID: .*AUTH_TOOWEAK" \
  "$FAR" call "$(S authcomp)" AUTH_PROG.1.USER_ID '"root"'
r=$("$FAR" call "${AC[@]}" "$(S authcomp)" AUTH_PROG.AUTH_V1.USER_INFO 0) || fail "authcomp USER_INFO"
[ "$(json_get "$r" 'v["user"]')" = root ] && [ "$(json_get "$r" 'v["uid"]')" = 0 ] ||
  fail "USER_INFO 0: $r"
pass "authcomp USER_INFO"
expect_json "authcomp SQUARE (a hyper result)" '"144"' "$FAR" call "${AC[@]}" "$(S authcomp)" COMP_PROG.1.SQUARE 12
expect_json "authcomp CUBE" '"1728"' "$FAR" call "${AC[@]}" "$(S authcomp)" COMP_PROG.1.CUBE 12
# far ping through the binder at the level, and refused without it
"$FAR" ping "${AC[@]}" localhost AUTH_PROG 1 >"$TMP/ping" 2>&1 || fail "far ping at priv: $(cat "$TMP/ping")"
grep -q "ready, rtt" "$TMP/ping" || fail "far ping at priv: $(cat "$TMP/ping")"
pass "far ping --level priv --key: authcomp answers"
"$FAR" ping localhost AUTH_PROG 1 >"$TMP/ping" 2>&1 && fail "far ping with no level answered: $(cat "$TMP/ping")"
grep -q "authentication error" "$TMP/ping" || fail "far ping with no level: $(cat "$TMP/ping")"
pass "far ping with no level: an authentication error"
expect_err "authcomp: a name over name<64> names its bound" "arguments of USER_ID: .*64" \
  "$FAR" call "${AC[@]}" "$(S authcomp)" AUTH_PROG.1.USER_ID "\"$(printf 'x%.0s' $(seq 65))\""

# --- far describe: every example's interface compiles with fargen and rpcgen
for e in calc echo rdir rtime primes sysauth authcomp; do
  progs=$(grep -o '^program [A-Z_]*' "$SRC/examples/$e/$e.x" | awk '{print $2}')
  for p in $progs; do
    d=$TMP/desc_$p
    mkdir -p "$d"
    "$FAR" describe "$(S "$e")" "$p" >"$d/$p.x" 2>"$TMP/err" || fail "far describe $e $p: $(cat "$TMP/err")"
    grep -q "^program $p " "$d/$p.x" || fail "far describe $e $p: no program: $(cat "$d/$p.x")"
    mkdir -p "$d/fg"
    "$FARGEN" -o "$d/fg" "$d/$p.x" >"$TMP/err" 2>&1 || fail "fargen rejects far describe's $p.x: $(cat "$TMP/err")"
    for f in "$d"/fg/*_xdr.c "$d"/fg/*_svc.c; do
      cc -std=c11 -c -I"$SRC/include" -o /dev/null "$f" 2>"$TMP/err" || fail "fargen's $f does not compile: $(cat "$TMP/err")"
    done
    (cd "$d" && "$RPCGEN" -h -o "$p.h" "$p.x" && "$RPCGEN" -c -o "${p}_xdr.c" "$p.x") >"$TMP/err" 2>&1 ||
      fail "rpcgen rejects far describe's $p.x: $(cat "$TMP/err")"
    cc -c -w -I/usr/include/tirpc -I"$d" -o /dev/null "$d/${p}_xdr.c" 2>"$TMP/err" ||
      fail "rpcgen's output of $p.x does not compile: $(cat "$TMP/err")"
    # the description fargen builds from that text is the server's (a round trip)
    "$FAR" describe --json --x "$d/$p.x" "$(S "$e")" "$p" >"$d/again.json" 2>"$TMP/err" ||
      fail "far describe --x of the described $p: $(cat "$TMP/err")"
    "$FAR" describe --json "$(S "$e")" "$p" >"$d/server.json" || fail "far describe --json $e $p"
    python3 -c 'import json,sys; a,b=[json.load(open(f)) for f in sys.argv[1:]]; sys.exit(a!=b)' \
      "$d/again.json" "$d/server.json" || fail "$p: the described .x compiles to another description"
  done
  "$FAR" describe --source "$(S "$e")" "$(echo "$progs" | head -1)" >"$TMP/src.x" ||
    fail "far describe --source $e"
  cmp -s "$TMP/src.x" "$SRC/examples/$e/$e.x" || fail "--source of $e is not $e.x: $(diff "$TMP/src.x" "$SRC/examples/$e/$e.x" | head)"
  pass "far describe $e: compiles with fargen and rpcgen, the same description again; --source is $e.x"
done
r=$("$FAR" describe --json "$(S calc)" CALC_PROG.1) || fail "far describe --json"
[ "$(json_get "$r" 'v["prog"], v["vers"], v["prog_name"], v["vers_name"]')" = "(536871728, 1, 'CALC_PROG', 'CALC_V1')" ] ||
  fail "far describe --json: $r"
[ "$(json_get "$r" '[p["name"] for p in v["procs"]]')" = "['MULTIPLY', 'SQUARE_ROOT']" ] ||
  fail "far describe --json procs: $r"
pass "far describe --json: the far_desc as JSON"
expect_err "far describe: a version the server does not serve" "does not serve program 536871728 version 7" \
  "$FAR" describe "$(S calc)" CALC_PROG.7
# far describe at a level, as far call: authcomp's description asked at the
# privacy level is the one asked at none (its reflection needs no level); a
# wrong key is refused at the handshake
"$FAR" describe "${AC[@]}" "$(S authcomp)" AUTH_PROG >"$TMP/desc_priv.x" 2>"$TMP/err" ||
  fail "far describe --level priv: $(cat "$TMP/err")"
"$FAR" describe "$(S authcomp)" AUTH_PROG >"$TMP/desc_none.x" || fail "far describe authcomp"
cmp -s "$TMP/desc_priv.x" "$TMP/desc_none.x" || fail "far describe --level priv differs: $(diff "$TMP/desc_priv.x" "$TMP/desc_none.x" | head)"
pass "far describe --level priv --key: authcomp's interface"
head -c 32 /dev/urandom >"$TMP/wrong.key" && chmod 600 "$TMP/wrong.key"
rc=0
"$FAR" describe --level priv --key "$TMP/wrong.key" --identity authcomp "$(S authcomp)" AUTH_PROG \
  >/dev/null 2>"$TMP/err" || rc=$?
[ "$rc" = 1 ] && grep -q "refused the handshake for security level priv" "$TMP/err" ||
  fail "far describe with the wrong key: exit $rc, $(cat "$TMP/err")"
pass "far describe with the wrong key: refused at the handshake"
rc=0
"$FAR" describe --level secret --key "$AUTHCOMP_KEY" "$(S authcomp)" AUTH_PROG >/dev/null 2>"$TMP/err" || rc=$?
[ "$rc" = 2 ] && grep -q "level is none, auth, integ or priv" "$TMP/err" ||
  fail "far describe --level secret: exit $rc, $(cat "$TMP/err")"
pass "far describe --level secret: a usage error"
echo "all dyn_examples checks passed"
