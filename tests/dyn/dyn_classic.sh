#!/usr/bin/env bash
# far call against a classic server: dyn_classic, rpcgen's code of
# dyn_test.x with libtirpc (no reflection program, no binder).  Without --x
# far says the server has no reflection and that --x helps; with --x
# dyn_test.x (fargen's front end) every call works, and JSON errors name the
# field as they do with reflection.
#   dyn_classic.sh BUILD_DIR SOURCE_DIR [RPCGEN]
. "$(dirname "$0")/common.sh" "$@"
X=$SRC/tests/dyn/dyn_test.x
export FARCALL_BINDER=none
start_server classic "$TMP" "$DYN/dyn_classic"
port=$(sed -n 's/^port //p' "$TMP/classic.log")
A=tcp://127.0.0.1:$port

expect_err "no --x: by number, the server has no reflection, --x helps" \
  "tcp://127.0.0.1:$port: the server has no reflection.*--x FILE.x" \
  "$FAR" call "$A" 0x20000d11.1.WEIGH '{"key": "abc", "value": 4}'
expect_err "no --x: by .x name, nothing to find it in, --x helps" \
  "no program 'DT_PROG': the server has no reflection.*--x FILE.x" \
  "$FAR" call "$A" DT_PROG.1.WEIGH '{"key": "abc", "value": 4}'
expect_err "no --x: far describe says so as well" "no reflection.*--x FILE.x" \
  "$FAR" describe "$A" 0x20000d11

expect_json "--x: WEIGH" 7 "$FAR" call --x "$X" "$A" DT_PROG.DT_V1.WEIGH '{"key": "abc", "value": 4}'
expect_json "--x: HELLO" '"hello, libtirpc"' "$FAR" call --x "$X" "$A" DT_PROG.1.HELLO '"libtirpc"'
v='{"name": "box", "size": "18446744073709551615", "tags": [{"key": "a", "value": 1}, {"key": "bbbbbbbb", "value": -2147483648}], "raw": "AAECA/8=", "s": {"c": "GREEN", "area": "-9223372036854775808"}, "next": {"name": "inner", "size": "0", "tags": [], "raw": "", "s": {"c": "BLUE"}, "next": {"name": "", "size": "9007199254740993", "tags": [], "raw": "", "s": {"c": "RED", "radius": 7}, "next": null}}}'
expect_json "--x: ECHO of every kind through libtirpc and back" "$v" \
  "$FAR" call --x "$X" "$A" DT_PROG.1.ECHO "$v"
expect_json "--x: procedure by number" 3 "$FAR" call --x "$X" "$A" DT_PROG.1.2 '{"key": "", "value": 3}'
printf '%s\n' '{"key": "a", "value": 1}' '{"key": "toolongkey", "value": 1}' '{"key": "ab", "value": 1}' |
  "$FAR" call --x "$X" "$A" DT_PROG.1.WEIGH - >"$TMP/batch" && fail "a batch with a bad line exited 0"
[ "$(cat "$TMP/batch" | tr '\n' '|')" = "2|error: arguments of WEIGH: args.key: expected a string of at most 8 bytes, got 10|3|" ] ||
  fail "--x batch: $(cat "$TMP/batch")"
pass "--x: a batch, the error line naming the field"
expect_err "--x: JSON errors name the field" 'args\.s\.c: .*color' \
  "$FAR" call --x "$X" "$A" DT_PROG.1.ECHO '{"name": "n", "size": "1", "tags": [], "raw": "", "s": {"c": "PINK"}, "next": null}'
expect_err "--x: a program the file does not have" "no program 'RDIR_PROG'" \
  "$FAR" call --x "$X" "$A" RDIR_PROG.1.GET_CWD null
"$FAR" describe --x "$X" "$A" DT_PROG >"$TMP/dt.x" || fail "far describe --x"
grep -q "union shape switch (color c)" "$TMP/dt.x" || fail "far describe --x: $(cat "$TMP/dt.x")"
"$FAR" describe --source --x "$X" "$A" DT_PROG | cmp -s - "$X" || fail "far describe --source --x is not the file"
pass "--x: far describe, and --source the file"
# every version of a program, as one .x file, with no server to ask
"$FAR" describe --x "$SRC/tests/bind/tirpc_peer.x" "unix:$TMP/nothing.sock" TIRPC_PEER >"$TMP/tp.x" ||
  fail "far describe --x of two versions"
[ "$(grep -c '^program ' "$TMP/tp.x")" = 1 ] && [ "$(grep -c '^    version ' "$TMP/tp.x")" = 2 ] ||
  fail "two versions are not one program: $(cat "$TMP/tp.x")"
mkdir -p "$TMP/tp" && "$FARGEN" -o "$TMP/tp" "$TMP/tp.x" >"$TMP/err" 2>&1 || fail "fargen: $(cat "$TMP/err")"
(cd "$TMP" && "$RPCGEN" -c -o tp_xdr.c tp.x) >"$TMP/err" 2>&1 || fail "rpcgen: $(cat "$TMP/err")"
pass "far describe --x: two versions as one program that fargen and rpcgen compile, no server asked"
echo "all dyn_classic checks passed"
