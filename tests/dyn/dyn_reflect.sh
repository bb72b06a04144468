#!/usr/bin/env bash
# The reflection program's answers as far sees them, on dyn_server
# (dyn_test.x: enums, unions, hypers, bounded strings and arrays, opaques,
# optional data): LIST (far describe with no version: every version),
# DESCRIBE (the interface; --json), SOURCE (the .x file); a server with
# far_server_opts.no_reflect (PROG_UNAVAIL: far says so and suggests --x,
# and --x works), one with a descriptor that has no description (NODESC);
# values of every kind there and back, and JSON errors that name the field.
#   dyn_reflect.sh BUILD_DIR SOURCE_DIR [RPCGEN]
. "$(dirname "$0")/common.sh" "$@"
X=$SRC/tests/dyn/dyn_test.x
start_binder
start_server dyn "$TMP" "$DYN/dyn_server" "unix:$TMP/dyn.sock"
start_server noref "$TMP" "$DYN/dyn_server" "unix:$TMP/noref.sock" --no-reflect
start_server nodesc "$TMP" "$DYN/dyn_server" "unix:$TMP/nodesc.sock" --no-desc
A=unix:$TMP/dyn.sock

# --- DESCRIBE: the interface as .x text
"$FAR" describe "$A" DT_PROG >"$TMP/dt.x" 2>"$TMP/err" || fail "far describe DT_PROG: $(cat "$TMP/err")"
for want in "const DT_MAXKEY = 8;" "enum color {" "union shape switch (color c) {" "case GREEN:" \
            "default:" "string name<16>;" "unsigned hyper size;" "tag tags<4>;" "opaque raw<32>;" \
            "item \*next;" "typedef string dt_text<>;" "item ECHO(item) = 1;" "} = 0x20000d11;"; do
  grep -q "$want" "$TMP/dt.x" || fail "far describe has no '$want': $(cat "$TMP/dt.x")"
done
mkdir -p "$TMP/fg" && "$FARGEN" -o "$TMP/fg" "$TMP/dt.x" >"$TMP/err" 2>&1 ||
  fail "fargen rejects the description: $(cat "$TMP/err")"
pass "DESCRIBE: far describe prints dyn_test.x's interface, which fargen compiles"
"$FAR" describe "$A" DT_PROG.DT_V1 | cmp -s - "$TMP/dt.x" || fail "describe DT_PROG.DT_V1 differs"
"$FAR" describe "$A" 0x20000d11.1 | cmp -s - "$TMP/dt.x" || fail "describe 0x20000d11.1 differs"
pass "DESCRIBE: by version name and by number"
r=$("$FAR" describe --json "$A" DT_PROG.1) || fail "far describe --json"
[ "$(json_get "$r" '[t["name"] for t in v["types"] if t["name"]]')" = "['color', 'tag', 'shape', 'item', 'dt_text']" ] ||
  fail "far describe --json types: $(json_get "$r" '[t["name"] for t in v["types"]]')"
[ "$(json_get "$r" '[(c["name"], c["value"]) for c in v["consts"]]')" = "[('DT_MAXKEY', '8')]" ] ||
  fail "far describe --json consts: $(json_get "$r" 'v["consts"]')"
pass "DESCRIBE: --json, the far_desc decoded by far_reflect.x's own description"

# --- SOURCE
"$FAR" describe --source "$A" DT_PROG | cmp -s - "$X" || fail "far describe --source is not dyn_test.x"
pass "SOURCE: the .x text the server was compiled from"

# --- LIST: the program by its .x name (the server's list), any case
expect_json "LIST: PROG by its .x name" 7 "$FAR" call "$A" DT_PROG.1.WEIGH '{"key": "abc", "value": 4}'
expect_json "LIST: names in lower case" 7 "$FAR" call "$A" dt_prog.dt_v1.weigh '{"key": "abc", "value": 4}'
expect_err "DESCRIBE of a version not served: the server says so" "does not serve program 536874257 version 2" \
  "$FAR" describe "$A" DT_PROG.2

# --- values of every kind, there and back
v='{"name": "box", "size": "18446744073709551615", "tags": [{"key": "a", "value": 1}, {"key": "bbbbbbbb", "value": -2147483648}], "raw": "AAECA/8=", "s": {"c": "GREEN", "area": "-9223372036854775808"}, "next": {"name": "inner", "size": "0", "tags": [], "raw": "", "s": {"c": "BLUE"}, "next": {"name": "", "size": "9007199254740993", "tags": [], "raw": "", "s": {"c": "RED", "radius": 7}, "next": null}}}'
expect_json "ECHO: a value of every kind back as it went" "$v" "$FAR" call "$A" DT_PROG.1.ECHO "$v"
expect_json "ECHO with --pretty: the same value" "$v" "$FAR" call --pretty "$A" DT_PROG.1.ECHO "$v"
expect_json "an enum by number, a hyper as a number within 2^53" \
  '{"name": "n", "size": "12", "tags": [], "raw": "", "s": {"c": "GREEN", "area": "5"}, "next": null}' \
  "$FAR" call "$A" DT_PROG.1.ECHO '{"name": "n", "size": 12, "tags": [], "raw": "", "s": {"c": 1, "area": 5}, "next": null}'
expect_json "HELLO: a typedef'd string" '"hello, far"' "$FAR" call "$A" DT_PROG.1.HELLO '"far"'

# --- JSON errors name the field and what was expected
item() { echo "{\"name\": \"n\", \"size\": \"1\", \"tags\": $1, \"raw\": \"\", \"s\": $2, \"next\": null}"; }
expect_err "a string over its bound, in an array element" 'tags\[1\]\.key.*8' \
  "$FAR" call "$A" DT_PROG.1.ECHO "$(item '[{"key": "a", "value": 1}, {"key": "123456789", "value": 2}]' '{"c": "BLUE"}')"
expect_err "an array over its bound" 'tags.*4' \
  "$FAR" call "$A" DT_PROG.1.ECHO "$(item '[{"key":"a","value":1},{"key":"a","value":1},{"key":"a","value":1},{"key":"a","value":1},{"key":"a","value":1}]' '{"c": "BLUE"}')"
expect_err "an enum name that is not one" 's\.c.*(PURPLE|color|enum)' \
  "$FAR" call "$A" DT_PROG.1.ECHO "$(item '[]' '{"c": "PURPLE"}')"
expect_err "a union arm missing" 's.*(radius|arm)' \
  "$FAR" call "$A" DT_PROG.1.ECHO "$(item '[]' '{"c": "RED"}')"
expect_err "an int out of range" 'value' \
  "$FAR" call "$A" DT_PROG.1.WEIGH '{"key": "k", "value": 2147483648}'
expect_err "a member unknown" 'colour' "$FAR" call "$A" DT_PROG.1.WEIGH '{"key": "k", "value": 1, "colour": 2}'
expect_err "malformed JSON" 'arguments of WEIGH: .*' "$FAR" call "$A" DT_PROG.1.WEIGH '{"key": '
expect_err "base64 that is not" 'raw' "$FAR" call "$A" DT_PROG.1.ECHO "$(item '[]' '{"c": "BLUE"}' | sed 's/"raw": ""/"raw": "!!"/')"

# a batch line with a NUL byte is refused (not cut short), and the batch goes on
printf '"a"\n"b\0c"\n"d"\n' | "$FAR" call "$A" DT_PROG.1.HELLO - >"$TMP/batch" &&
  fail "a batch with a NUL byte exited 0"
[ "$(tr '\n' '|' <"$TMP/batch")" = '"hello, a"|error: a NUL byte in the line|"hello, d"|' ] ||
  fail "batch with a NUL byte: $(cat "$TMP/batch")"
pass "a batch line with a NUL byte: an error line, and the batch goes on"

# --- no reflection: far says so, and --x gives the types
expect_err "no_reflect: far describe says the server has no reflection and suggests --x" \
  "no reflection.*--x FILE.x" "$FAR" describe "unix:$TMP/noref.sock" 0x20000d11.1
expect_err "no_reflect: far call by number says so too" "no reflection.*--x FILE.x" \
  "$FAR" call "unix:$TMP/noref.sock" 0x20000d11.1.WEIGH '{"key": "abc", "value": 4}'
expect_err "no_reflect: by .x name, with no list to find it in" "no reflection.*--x FILE.x" \
  "$FAR" call "unix:$TMP/noref.sock" DT_PROG.1.WEIGH '{"key": "abc", "value": 4}'
expect_json "no_reflect: --x dyn_test.x" 7 \
  "$FAR" call --x "$X" "unix:$TMP/noref.sock" DT_PROG.DT_V1.WEIGH '{"key": "abc", "value": 4}'
expect_json "no_reflect: --x, ECHO of every kind" "$v" "$FAR" call --x "$X" "unix:$TMP/noref.sock" DT_PROG.1.ECHO "$v"
"$FAR" describe --x "$X" "unix:$TMP/noref.sock" DT_PROG | cmp -s - "$TMP/dt.x" ||
  fail "far describe --x differs from the server's description"
pass "no_reflect: far describe --x prints what the server's reflection does"
expect_err "no description (a hand-written descriptor): far says so" "no description.*--x FILE.x" \
  "$FAR" call "unix:$TMP/nodesc.sock" DT_PROG.1.WEIGH '{"key": "abc", "value": 4}'
expect_json "no description: --x works" '"hello, x"' \
  "$FAR" call --x "$X" "unix:$TMP/nodesc.sock" DT_PROG.1.HELLO '"x"'
expect_err "--x with a file that is not there" "--x .*nothere.x" \
  "$FAR" call --x "$TMP/nothere.x" "$A" DT_PROG.1.HELLO '"x"'
cat "$TMP/errors.txt"
echo "all dyn_reflect checks passed"
