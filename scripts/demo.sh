#!/usr/bin/env bash
# `make demo`:
#  1. dynamic binding: farbind on an unprivileged address (a Unix socket in a
#     temporary directory and an ephemeral loopback TCP/UDP port), the rtime
#     example server registering itself, the rtime client finding it by
#     program number alone, `far info` and `far ping`; then everything started
#     here is stopped (trap);
#  2. the rdir example end to end on a Unix socket;
#  3. the XDR codec demo.
set -euo pipefail
build=${1:-build}
here=$(dirname "$0")

tmp=$(mktemp -d /tmp/farcall-demo.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
wait_for() { # FILE PATTERN: bounded wait for a line in a log
  for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  echo "demo: timed out waiting for '$2' in $1" >&2; cat "$1" >&2; return 1
}

echo "== dynamic binding: farbind, a server that registers itself, a client that finds it"
export FARCALL_BINDER="unix:$tmp/farbind.sock"
"$build/tools/farbind/farbind" -a "unix:$tmp/farbind.sock" -a tcp://127.0.0.1:0 \
    -a udp://127.0.0.1:0 -p 2000 2>"$tmp/farbind.log" &
pids+=($!)
wait_for "$tmp/farbind.log" ready
sed 's/^/  /' "$tmp/farbind.log"
echo "\$ FARCALL_BINDER=$FARCALL_BINDER rtime_server tcp://127.0.0.1:0 &"
"$build/examples/rtime/rtime_server" tcp://127.0.0.1:0 >"$tmp/rtime.log" 2>&1 &
pids+=($!)
wait_for "$tmp/rtime.log" listening
sed 's/^/  /' "$tmp/rtime.log"
echo "\$ rtime_client 0x20000310/1        # program/version: the binder knows the port"
"$build/examples/rtime/rtime_client" 0x20000310/1 | sed 's/^/  /'
echo "\$ far info"
"$build/tools/far/far" info | sed 's/^/  /'
echo "\$ far ping localhost 0x20000310 1"
"$build/tools/far/far" ping localhost 0x20000310 1 | sed 's/^/  /'
echo "\$ far ping localhost 0x20000310 2"
"$build/tools/far/far" ping localhost 0x20000310 2 2>&1 | sed 's/^/  /' || true
cleanup
pids=()
trap - EXIT
unset FARCALL_BINDER
echo

echo "== the rdir example over a Unix socket"
"$here/../examples/run_example.sh" rdir "$build/examples/rdir/rdir_server" \
    "$build/examples/rdir/rdir_client" "hello from make demo"
echo
"$build/examples/xdrdemo/xdrdemo"
