# Shared by the dynamic-call tests: tests/bind/common.sh's temp dir, trap,
# bounded waits and failures, a private farbind on a Unix socket
# (FARCALL_BINDER), and servers started in the background and always stopped.
#   . common.sh BUILD_DIR SOURCE_DIR [RPCGEN]
SRC=$(cd "${2:?usage: $0 BUILD_DIR SOURCE_DIR [RPCGEN]}" && pwd)
RPCGEN=${3:-}
. "$SRC/tests/bind/common.sh" "$(cd "$1" && pwd)"
FARGEN=$B/tools/fargen/fargen
EX=$B/examples
DYN=$B/tests/dyn

# The binder every server here registers with and far looks programs up at.
start_binder() {
  export FARCALL_BINDER="unix:$TMP/farbind.sock"
  start_farbind binder -a "$FARCALL_BINDER" ||
    fail "farbind did not start"
}

# start_server NAME DIR CMD...: CMD in the background in directory DIR (its
# output in $TMP/NAME.log), waits until it says "listening on"; $NAME_PID.
start_server() {
  local name=$1 dir=$2
  shift 2
  (cd "$dir" && exec "$@") >"$TMP/$name.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  eval "${name}_PID=$pid"
  wait_for 10 grep -q "listening on\|^port " "$TMP/$name.log" || fail "$name did not start"
}

# expect_out WHAT WANT CMD...: CMD succeeds and its standard output is WANT.
expect_out() {
  local what=$1 want=$2 got
  shift 2
  got=$("$@" 2>"$TMP/err") || fail "$what: '$*' failed: $(cat "$TMP/err")"
  [ "$got" = "$want" ] || fail "$what: got '$got', want '$want'"
  pass "$what"
}

# expect_err WHAT PATTERN CMD...: CMD fails (status 1) and says PATTERN
# (an extended regular expression) on standard error, in one line.
expect_err() {
  local what=$1 pat=$2 rc=0
  shift 2
  "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
  [ "$rc" = 1 ] || fail "$what: '$*' exited $rc, want 1 (out: $(cat "$TMP/out"); err: $(cat "$TMP/err"))"
  grep -Eq -- "$pat" "$TMP/err" || fail "$what: error '$(cat "$TMP/err")' does not say /$pat/"
  cat "$TMP/err" >>"$TMP/errors.txt"
  [ "$(wc -l <"$TMP/err")" -le 1 ] || fail "$what: the error is not one line: $(cat "$TMP/err")"
  pass "$what"
}

# expect_json WHAT WANT CMD...: CMD succeeds and prints one JSON value equal
# to WANT (compared as data, not text: spacing and key order aside).
expect_json() {
  local what=$1 want=$2 got
  shift 2
  got=$("$@" 2>"$TMP/err") || fail "$what: '$*' failed: $(cat "$TMP/err")"
  python3 -c 'import json, sys; sys.exit(json.loads(sys.argv[1]) != json.loads(sys.argv[2]))' \
    "$got" "$want" || fail "$what: got '$got', want '$want'"
  pass "$what"
}

# json_get JSON EXPR: EXPR (Python, over the parsed value v) of a JSON text.
json_get() { python3 -c 'import json, sys; v = json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }
