# Shared by the binder tests: a temp dir, background processes that are always
# stopped (trap), bounded waits, and clear failures.
set -eu # no pipefail: "cmd | grep" checks what cmd printed, whatever its status
B=${1:?usage: $0 BUILD_DIR}
FARBIND=$B/tools/farbind/farbind
FAR=$B/tools/far/far
PEER=$B/tests/bind/bind_peer
TIRPC_PEER=$B/tests/bind/tirpc_peer
TEST_PROG=$((0x20000bb1))
TMP=$(mktemp -d /tmp/farbind-test.XXXXXX)
chmod 755 "$TMP"
PIDS=()

cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  ${EXTRA_CLEANUP:-true}
  rm -rf "$TMP"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; for f in "$TMP"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done >&2; exit 1; }
pass() { echo "ok   $*"; }

# wait_for SECONDS CMD...: runs CMD every 0.1 s until it succeeds.
wait_for() {
  local n=$(($1 * 10)); shift
  for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

# start_farbind NAME ARGS...: farbind in the background, log in $TMP/NAME.log,
# pid in $NAME_PID; waits for "ready".
start_farbind() {
  local name=$1; shift
  "$FARBIND" "$@" >"$TMP/$name.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  eval "${name}_PID=$pid"
  wait_for 10 grep -q ready "$TMP/$name.log" || fail "$name did not start"
}

# bound_addr NAME SCHEME: the address farbind NAME reports for SCHEME (tcp/udp).
bound_addr() { grep -o "listening on $2://127.0.0.1:[0-9]*" "$TMP/$1.log" | head -1 | sed 's/listening on //'; }

# start_peer NAME ARGS...: bind_peer serve in the background.
start_peer() {
  local name=$1; shift
  local mode=serve
  if [ "$1" = other ]; then mode=serve-other; shift; fi
  "$PEER" $mode "$@" >"$TMP/$name.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  eval "${name}_PID=$pid"
  wait_for 10 grep -q ready "$TMP/$name.log" || fail "$name did not start"
}

stop_pid() {
  kill "$1" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
}

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# count PROG: registrations of PROG in the binder's table (via $FARCALL_BINDER)
count() { "$PEER" count "$1" | awk '{print $1}'; }

# port 111 tests: root, and port 111 / /run/rpcbind.sock not in use by anyone else
need_port111() {
  [ "$(id -u)" -eq 0 ] || fail "needs root (port 111 and /run/rpcbind.sock); run as root"
  if ss -Hlntu 'sport = :111' 2>/dev/null | grep -q .; then
    fail "port 111 is in use by a process this test did not start: $(ss -Hlntup 'sport = :111' | head -2)"
  fi
  if [ -S /run/rpcbind.sock ]; then
    rm -f /run/rpcbind.sock # nothing listens on 111, so nothing serves it
  fi
  command -v rpcinfo >/dev/null || fail "rpcinfo not installed (scripts/deps.sh installs rpcbind)"
}
