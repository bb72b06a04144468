#!/bin/bash
# The samples fargen generates (-Sc client, -Ss server) run as generated,
# against each other.  For each case:
#   - the sample server starts on a Unix socket and registers with a farbind
#     this test starts (FARCALL_BINDER points at it; no other binder is
#     touched): `far info` lists its program;
#   - the sample client calls every procedure: each prints "STUB: ok", none
#     fails, it exits 0 and writes nothing to stderr;
#   - SIGNAL (TERM or INT) stops the server: it exits 0, prints "stopped",
#     logs no error, and its program is gone from the binder.
# Every wait is bounded; everything the test starts is stopped (trap).
#
# usage: samples.sh FARBIND FAR  CLIENT SERVER PROGRAM CALLS SIGNAL  [CLIENT SERVER ...]
set -u
farbind=$1 far=$2
shift 2
tmp=$(mktemp -d /tmp/fargen-samples.XXXXXX)
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do
        [ -n "$p" ] || continue
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
    echo "FAIL: $*"
    for f in "$tmp"/*.log "$tmp"/*.out "$tmp"/*.err; do
        [ -f "$f" ] && { echo "--- $(basename "$f")"; tail -20 "$f"; }
    done
    exit 1
}
# wait_for SECONDS CMD...: CMD every 0.1 s until it succeeds
wait_for() {
    local n=$(($1 * 10))
    shift
    for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    return 1
}
registered() { "$far" info 2>/dev/null | grep -Eq "^ +$1 "; }
not_registered() { ! registered "$1"; }

"$farbind" -a "unix:$tmp/fb.sock" -p 0 >"$tmp/farbind.log" 2>&1 &
pids+=($!)
wait_for 10 grep -q ready "$tmp/farbind.log" || fail "farbind did not start"
export FARCALL_BINDER="unix:$tmp/fb.sock"

n=0
while [ $# -ge 5 ]; do
    client=$1 server=$2 prog=$3 calls=$4 sig=$5
    shift 5
    n=$((n + 1))
    name=$(basename "$server")
    sock="$tmp/$name.sock"

    "$server" "unix:$sock" >"$tmp/$name.log" 2>&1 &
    spid=$!
    pids+=($spid)
    wait_for 10 grep -q "^listening on unix:$sock" "$tmp/$name.log" || fail "$name did not start"
    wait_for 10 registered "$prog" || fail "$name: program $prog not registered: $("$far" info 2>&1)"
    echo "ok   $name listens on unix:$sock and is registered (program $prog)"

    cname=$(basename "$client")
    timeout 30 "$client" "unix:$sock" >"$tmp/$cname.out" 2>"$tmp/$cname.err"
    st=$?
    [ $st = 0 ] || fail "$cname exited $st"
    [ -s "$tmp/$cname.err" ] && fail "$cname wrote to stderr"
    got=$(grep -c ': ok$' "$tmp/$cname.out")
    [ "$got" = "$calls" ] || fail "$cname: $got calls ok, expected $calls"
    echo "ok   $cname: all $calls calls succeed, exit 0"

    kill -"$sig" "$spid"
    for _ in $(seq 100); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$spid" 2>/dev/null && fail "$name still runs 10 s after SIG$sig"
    wait "$spid"
    st=$?
    pids=("${pids[@]/$spid/}") # reaped: not to be killed again
    [ $st = 0 ] || fail "$name exited $st after SIG$sig"
    grep -q "^stopped$" "$tmp/$name.log" || fail "$name did not say it stopped"
    grep -Eqi "error|warning" "$tmp/$name.log" && fail "$name logged a problem"
    wait_for 5 not_registered "$prog" || fail "$name: program $prog still registered: $("$far" info 2>&1)"
    echo "ok   $name: SIG$sig stops it (exit 0, \"stopped\"), and it has unregistered"
done
[ $# = 0 ] || fail "usage: leftover arguments: $*"
[ $n -gt 0 ] || fail "no cases"
echo "$n sample pairs ok"
