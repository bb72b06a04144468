#!/bin/bash
# Starts an rpcgen + libtirpc echo server (echo_main.c) on 127.0.0.1, runs
# a Python check against it (peers.py, hostile.py) with the argument @PORT@
# replaced by the server's port, checks the server is still up afterwards,
# and stops it.
#
# usage: peers.sh SERVER PYTHON3 SCRIPT.py ARGS...
set -u
server=$1 py=$2 script=$3
shift 3
work=$(mktemp -d)
pid=
stop() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    rm -rf "$work"
}
trap stop EXIT

[ -x "$server" ] || { echo "FAIL: no echo server $server"; exit 1; }
command -v "$py" >/dev/null || { echo "FAIL: no $py (python3 runs the checks)"; exit 1; }

"$server" >"$work/port" 2>"$work/server.err" &
pid=$!
port=
for _ in $(seq 100); do  # 10 s at most
    port=$(sed -n 's/^port \([0-9][0-9]*\)$/\1/p' "$work/port")
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$port" ]; then
    echo "FAIL: the echo server $(basename "$server") did not start:"
    cat "$work/server.err"
    exit 1
fi

args=()
for a in "$@"; do
    args+=("${a//@PORT@/$port}")
done
"$py" "$script" "${args[@]}"
rc=$?
if ! kill -0 "$pid" 2>/dev/null; then
    echo "FAIL: the echo server died:"
    cat "$work/server.err"
    rc=1
fi
exit $rc
