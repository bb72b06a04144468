#!/usr/bin/env bash
# far's command line against a farbind and a server this test starts (on a
# Unix socket and loopback TCP in a temp dir): --help and --version, each
# subcommand's --help, usage errors, far ping -t / -c / -i (also against a
# server stopped with SIGSTOP), far info -x and its names, far name
# set/get/list/unset with the owner rules.  Every wait is bounded; every
# process started is stopped (tests/bind/common.sh's trap).
# usage: far_cli.sh BUILD_DIR PROJECT_VERSION
VERSION=${2:?usage: $0 BUILD_DIR PROJECT_VERSION}
source "$(dirname "$0")/../bind/common.sh"
CALC_SERVER=$B/examples/calc/calc_server
CALC=$((0x20000330))

# run NAME CMD...: CMD's stdout, stderr and exit status in $TMP/NAME.{out,err,rc}
run() {
  local name=$1; shift
  set +e
  "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
  echo $? >"$TMP/$name.rc"
  set -e
}
rc() { cat "$TMP/$1.rc"; }
out() { cat "$TMP/$1.out"; }
err() { cat "$TMP/$1.err"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# --- conventions: no binder is asked for any of these
export FARCALL_BINDER="unix:$TMP/nobody-here.sock"
for args in "--help" "-h" "help"; do
  run top "$FAR" $args
  [ "$(rc top)" = 0 ] && [ ! -s "$TMP/top.err" ] || fail "far $args: status $(rc top), stderr $(err top)"
  out top | grep -q "^Usage: far <cmd>" || fail "far $args: no usage on stdout: $(out top)"
  for sub in info ping name; do
    out top | grep -q "^  $sub: " || fail "far $args does not list $sub"
  done
done
run ver "$FAR" --version
[ "$(rc ver)" = 0 ] && [ "$(out ver)" = "far (farcall) $VERSION" ] && [ ! -s "$TMP/ver.err" ] ||
  fail "far --version: status $(rc ver), '$(out ver)', expected 'far (farcall) $VERSION'"
for sub in info ping name; do
  for form in "$sub --help" "$sub -h" "help $sub"; do
    run sub "$FAR" $form
    [ "$(rc sub)" = 0 ] && [ ! -s "$TMP/sub.err" ] || fail "far $form: status $(rc sub): $(err sub)"
    out sub | grep -q "^usage: far $sub" || fail "far $form: no usage on stdout: $(out sub)"
  done
done
run sub "$FAR" ping localhost 100000 4 --help
[ "$(rc sub)" = 0 ] && out sub | grep -q "^usage: far ping" || fail "far ping ARGS --help did not help"
out ver >/dev/null
pass "far --help, -h, help, --version ($VERSION), far SUBCOMMAND --help / -h, far help SUBCOMMAND: stdout, status 0"

run none "$FAR"
[ "$(rc none)" = 2 ] && err none | grep -q "^Usage: far" || fail "far with no arguments: status $(rc none)"
run bad "$FAR" nosuch
[ "$(rc bad)" = 2 ] && err bad | grep -q "'nosuch' is not a subcommand" || fail "far nosuch: $(rc bad) $(err bad)"
run bad "$FAR" info -q
[ "$(rc bad)" = 2 ] && err bad | grep -q "unknown option '-q'" || fail "far info -q: $(rc bad) $(err bad)"
for o in "-t 0" "-t x" "-c 0" "-c" "-i -1"; do
  run bad "$FAR" ping $o localhost 100000 4
  [ "$(rc bad)" = 2 ] || fail "far ping $o: status $(rc bad), expected 2: $(err bad)"
done
run bad "$FAR" name set "bad name" 1
[ "$(rc bad)" = 2 ] && err bad | grep -q "is not a name" || fail "far name set 'bad name': $(rc bad) $(err bad)"
run bad "$FAR" name frob x
[ "$(rc bad)" = 2 ] || fail "far name frob: status $(rc bad)"
run nb "$FAR" name list
[ "$(rc nb)" = 1 ] && err nb | grep -q "no binder" || fail "far name list without a binder: $(rc nb) $(err nb)"
run nb "$FAR" name set calc 1
[ "$(rc nb)" = 1 ] && err nb | grep -q "no binder" || fail "far name set without a binder: $(rc nb) $(err nb)"
pass "usage errors exit 2 (no arguments, unknown subcommand and option, bad -t/-c/-i, bad name); no binder exits 1"

# --- a binder and a server
start_farbind fb -a "unix:$TMP/fb.sock" -a tcp://127.0.0.1:0 -p 0
export FARCALL_BINDER="unix:$TMP/fb.sock"
"$CALC_SERVER" "unix:$TMP/calc.sock" >"$TMP/calc.log" 2>&1 &
CALC_PID=$!
PIDS+=("$CALC_PID")
wait_for 10 grep -q "listening on" "$TMP/calc.log" || fail "calc_server did not start"
wait_for 10 sh -c "'$FAR' info | grep -q ' $CALC '" || fail "calc_server did not register"

run info "$FAR" info
[ "$(rc info)" = 0 ] || fail "far info: $(err info)"
out info | grep -Eq "^ *$CALC +1 local +$TMP/calc.sock" || fail "far info lacks calc: $(out info)"
run infox "$FAR" info -x
out infox | grep -Eq "^0x20000330 +1 local " || fail "far info -x: no hex program number: $(out infox)"
out infox | grep -Eq "^0x000186a0 +2,3,4 " || fail "far info -x: summary not in hex: $(out infox)"
out infox | grep -q "$CALC" && fail "far info -x still prints decimal numbers: $(out infox)"
pass "far info lists the server; -x prints program numbers in hex"

# --- far ping: by number and name, -c, -i, -t
run p "$FAR" ping localhost $CALC 1
[ "$(rc p)" = 0 ] && out p | grep -q "at unix:$TMP/calc.sock: ready, rtt" || fail "far ping: $(out p) $(err p)"
run p "$FAR" ping -c 3 -i 0 localhost $CALC 1
[ "$(rc p)" = 0 ] || fail "far ping -c 3: status $(rc p): $(err p)"
[ "$(out p | grep -c 'ready, rtt')" = 3 ] || fail "far ping -c 3: not 3 replies: $(out p)"
out p | grep -Eq "^3 calls, 3 answered, rtt min/avg/max [0-9]+/[0-9]+/[0-9]+ us$" || fail "far ping -c 3 summary: $(out p)"
t0=$(now_ms); run p "$FAR" ping -c 3 -i 300 localhost $CALC 1; t1=$(now_ms)
[ "$(rc p)" = 0 ] && [ $((t1 - t0)) -ge 600 ] || fail "far ping -c 3 -i 300 took $((t1 - t0)) ms (status $(rc p))"
run p "$FAR" ping localhost $CALC 2
[ "$(rc p)" = 1 ] && err p | grep -q "version mismatch (server has 1)" || fail "far ping of version 2: $(err p)"
run p "$FAR" ping localhost $((CALC + 1)) 1
[ "$(rc p)" = 1 ] && err p | grep -q "not registered" || fail "far ping of an unregistered program: $(err p)"
pass "far ping: one call, -c 3 (3 replies and a summary), -i 300 waits between calls; mismatch, not registered"

kill -STOP "$CALC_PID"
t0=$(now_ms); run stopped "$FAR" ping -t 300 localhost $CALC 1; t1=$(now_ms)
t2=$(now_ms); run stopped2 "$FAR" ping -t 200 -c 2 -i 0 localhost $CALC 1; t3=$(now_ms)
kill -CONT "$CALC_PID"
[ "$(rc stopped)" = 1 ] && err stopped | grep -q "no reply within 300 ms" ||
  fail "far ping -t 300 of a stopped server: status $(rc stopped): $(err stopped)"
[ $((t1 - t0)) -ge 280 ] && [ $((t1 - t0)) -lt 2000 ] || fail "far ping -t 300 took $((t1 - t0)) ms"
[ "$(rc stopped2)" = 1 ] && out stopped2 | grep -q "^2 calls, 0 answered$" ||
  fail "far ping -t 200 -c 2 of a stopped server: $(out stopped2) $(err stopped2)"
[ $((t3 - t2)) -lt 2500 ] || fail "far ping -t 200 -c 2 took $((t3 - t2)) ms"
run p "$FAR" ping localhost $CALC 1
[ "$(rc p)" = 0 ] || fail "far ping after SIGCONT: $(err p)"
pass "far ping -t: a stopped server costs the timeout ($((t1 - t0)) ms for -t 300, $((t3 - t2)) ms for -t 200 -c 2), not 5 s"

# --- far name
run n "$FAR" name set calc $CALC
[ "$(rc n)" = 0 ] && [ "$(out n)" = "name calc: program $CALC" ] || fail "far name set: $(out n) $(err n)"
run n "$FAR" name set calc-alt 0x20000330
[ "$(rc n)" = 0 ] || fail "far name set with a hex number: $(err n)"
run n "$FAR" name get calc
[ "$(rc n)" = 0 ] && [ "$(out n)" = "$CALC" ] || fail "far name get: $(out n) $(err n)"
run n "$FAR" name get -x calc "unix:$TMP/fb.sock"
[ "$(rc n)" = 0 ] && [ "$(out n)" = "0x20000330" ] || fail "far name get -x NAME HOST: $(out n) $(err n)"
TCP=$(bound_addr fb tcp)
run n "$FAR" name list "$TCP"
[ "$(rc n)" = 0 ] || fail "far name list $TCP: $(err n)"
out n | grep -Eq "^binder $TCP: [0-9]+ names?$" || fail "far name list header: $(out n)"
out n | grep -Eq "^ +calc +$CALC +[^ ]+ +superuser$" || fail "far name list lacks calc (owner superuser): $(out n)"
out n | grep -Eq "^ +calc-alt +$CALC " || fail "far name list lacks calc-alt: $(out n)"
run n "$FAR" name list -x
out n | grep -Eq "^ +calc +0x20000330 " || fail "far name list -x: $(out n)"
run info "$FAR" info
out info | grep -q "^names:$" || fail "far info shows no names: $(out info)"
out info | grep -Eq "^ +calc +$CALC " || fail "far info lacks the name calc: $(out info)"
out info | grep -Eq "^ *$CALC +1 local +[^ ]+ +[^ -][^ ]* +superuser$" || fail "far info's service column does not name calc: $(out info)"
run p "$FAR" ping -c 1 localhost calc 1
[ "$(rc p)" = 0 ] || fail "far ping by a registered name: $(err p)"
pass "far name set (decimal, hex), get [-x] [HOST], list [-x] [HOST]; far info shows the names; ping by name"

asnobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
run n asnobody "$FAR" name unset calc
[ "$(rc n)" = 1 ] && err n | grep -q "owned by someone else" || fail "nobody removed root's name: $(rc n) $(err n)"
run n asnobody "$FAR" name set calc 1
[ "$(rc n)" = 1 ] || fail "nobody took over root's name: $(out n)"
[ "$("$FAR" name get calc)" = "$CALC" ] || fail "root's name changed by nobody"
run n asnobody "$FAR" name set mine 77
[ "$(rc n)" = 0 ] || fail "nobody could not set a name of its own: $(err n)"
"$FAR" name list | grep -Eq "^ +mine +77 +[^ ]+ +65534$" || fail "nobody's name not owned by 65534: $("$FAR" name list)"
run n asnobody "$FAR" name unset mine
[ "$(rc n)" = 0 ] || fail "nobody could not remove its own name: $(err n)"
pass "far name: another uid can neither remove nor change root's name; a uid owns its own"

for nm in calc calc-alt; do
  run n "$FAR" name unset $nm
  [ "$(rc n)" = 0 ] && [ "$(out n)" = "name $nm: removed" ] || fail "far name unset $nm: $(out n) $(err n)"
done
run n "$FAR" name unset calc
[ "$(rc n)" = 1 ] && err n | grep -q "not registered" || fail "second unset: $(rc n) $(err n)"
run n "$FAR" name get calc
[ "$(rc n)" = 1 ] && err n | grep -q "not registered" || fail "get after unset: $(rc n) $(err n)"
run n "$FAR" name list
[ "$(rc n)" = 0 ] || fail "far name list after unset: $(err n)"
out n | grep -Eq "^ +calc(-alt)? " && fail "far name list after unset: $(out n)"
"$FAR" info | grep -Eq "^ +calc(-alt)? " && fail "far info shows the names after unset"
pass "far name unset; get, list and info after it"

stop_pid "$CALC_PID"
pass "all done"
