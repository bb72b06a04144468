# Shared by the cluster tests: a temp dir, processes that are always stopped
# (trap), bounded waits, free loopback ports, a three-member etcd cluster.
set -eu
B=${1:?usage: $0 BUILD_DIR}
FAR=$B/tools/far/far
FARBIND=$B/tools/farbind/farbind
SRV=$B/tests/cluster/cl_server
TIRPC=$B/tests/cluster/cl_tirpc_server
CLIENT=$B/tests/cluster/cl_client
PROG=0x20000e15
PROGD=$((0x20000e15))
TMP=$(mktemp -d /tmp/farcall-cluster.XXXXXX)
PIDS=()
export ETCDCTL_API=3

cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  for f in "$TMP"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -15 "$f"; }; done >&2
  exit 1
}
pass() { echo "ok   $*"; }
now_ms() { date +%s%3N; }

# wait_for SECONDS CMD...: runs CMD every 0.1 s until it succeeds.
wait_for() {
  local n=$(($1 * 10)); shift
  for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

# free_ports N: N loopback TCP ports nothing listens on now.
free_ports() {
  python3 -c '
import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))' "$1"
}

# start NAME CMD...: CMD in the background, output in $TMP/NAME.log, pid in
# NAME_PID; waits for its "ready" line, whose address goes in NAME_ADDR.
start() {
  local name=$1; shift
  "$@" >"$TMP/$name.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  eval "${name}_PID=$pid"
  wait_for 10 grep -q '^ready\|^published' "$TMP/$name.log" || fail "$name did not start"
  eval "${name}_ADDR=$(grep -m1 '^ready' "$TMP/$name.log" | awk '{print $2}')"
}

# An etcd cluster of three members on loopback ports.
etcd_ports() {
  read -r C1 C2 C3 P1 P2 P3 <<<"$(free_ports 6)"
  CS=($C1 $C2 $C3)
  PS=($P1 $P2 $P3)
  EPS=127.0.0.1:$C1,127.0.0.1:$C2,127.0.0.1:$C3
  INITIAL=m1=http://127.0.0.1:$P1,m2=http://127.0.0.1:$P2,m3=http://127.0.0.1:$P3
}

# etcd_member I: starts member I (1..3) on its data dir (kept across restarts).
etcd_member() {
  local i=$1 c=${CS[$(($1 - 1))]} p=${PS[$(($1 - 1))]} state=new
  [ -d "$TMP/m$i" ] && state=existing
  etcd --name "m$i" --data-dir "$TMP/m$i" \
    --listen-client-urls "http://127.0.0.1:$c" --advertise-client-urls "http://127.0.0.1:$c" \
    --listen-peer-urls "http://127.0.0.1:$p" --initial-advertise-peer-urls "http://127.0.0.1:$p" \
    --initial-cluster "$INITIAL" --initial-cluster-state "$state" \
    --initial-cluster-token "farcall-$$" >>"$TMP/etcd$i.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  eval "ETCD${i}_PID=$pid"
}

etcd_healthy() { etcdctl --endpoints="$EPS" --command-timeout=1s endpoint health 2>&1 | grep -q 'is healthy'; }
etcd_quorum() { etcdctl --endpoints="$EPS" --command-timeout=1s put /farcall-test/probe x >/dev/null 2>&1; }

# keys: the cluster's registration keys now
keys() { etcdctl --endpoints="$EPS" --command-timeout=1s get --prefix --keys-only "/farcall/v1/$FARCALL_CLUSTER/" 2>/dev/null | grep . || true; }
# uaddr_of tcp://127.0.0.1:PORT -> 127.0.0.1.HI.LO
uaddr_of() { local port=${1##*:}; echo "127.0.0.1.$((port / 256)).$((port % 256))"; }
has_key() { keys | grep -q "/$(uaddr_of "$1")\$"; }

# Fails if a sanitizer reported anything in the logs of what the test ran
# (a process killed or still running may not have exited with its code).
no_sanitizer_reports() {
  local hits
  hits=$(grep -lE 'ThreadSanitizer|AddressSanitizer|LeakSanitizer|runtime error:' "$TMP"/*.log "$TMP"/*.out 2>/dev/null || true)
  [ -z "$hits" ] || fail "sanitizer reports in: $hits"
}
