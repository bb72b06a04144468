#!/usr/bin/env bash
# run_rpc.sh [BUILD]: farcall's runtime (rpc_bench) beside its baselines, all
# measured in this run:
#   - raw sockets: shared/bench/anchors/phys/netbench (TCP/unix ping-pong,
#     64-deep pipelined batch) and bench/raw_bench (UDP ping-pong, a raw epoll
#     echo server driven by the same client processes as farcall's, a
#     record-marked echo of the same sizes);
#   - rpcgen + libtirpc: the client/server of shared/bench/anchors/tirpc;
#   - the privacy level's AES-GCM alone (bench/aead_bench), the bound it
#     puts on the 1 MiB echo at that level.
# Single-client runs are pinned same-core (client and server on CPU 0) and
# cross-core (client CPU 0, server CPU 1) as the anchors' README says; the
# multi-process runs are unpinned.  Every measurement is run REPS times
# (default 3; the repetitions are interleaved, so drift hits every contender
# alike) and the table gives the median with the min-max.
# Environment: REPS, CONC_SECS (default 2), PORT (libtirpc server, 20621).
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
anchors=${ANCHORS:-$here/../../shared/bench/anchors}
[ -d "$anchors" ] || anchors=/work/shared/bench/anchors
out=$(mktemp -d /tmp/run_rpc.XXXXXX)
PORT=${PORT:-20621}
REPS=${REPS:-3}
CONC_SECS=${CONC_SECS:-2}
export FARCALL_QUIET=1
start=$(date +%s)

cmake --build "$build" --target rpc_bench raw_bench aead_bench > /dev/null
B="$build/bench/rpc_bench"
R="$build/bench/raw_bench"
A="$build/bench/aead_bench"

# Anchors, built here from their sources.
gcc -O2 -o "$out/netbench" "$anchors/phys/netbench.c"
mkdir -p "$out/tirpc"
cp "$anchors/tirpc/bench.x" "$out/tirpc/"
(cd "$out/tirpc" && rpcgen -M -h -o bench.h bench.x && rpcgen -M -c -o bench_xdr.c bench.x &&
    rpcgen -M -l -o bench_clnt.c bench.x && rpcgen -M -m -o bench_svc.c bench.x)
TI="$(pkg-config --cflags --libs libtirpc)"
gcc -O2 -w -I"$out/tirpc" -o "$out/rpcserver" "$anchors/tirpc/server.c" \
    "$out/tirpc/bench_svc.c" "$out/tirpc/bench_xdr.c" $TI
gcc -O2 -w -I"$out/tirpc" -o "$out/rpcclient" "$anchors/tirpc/client.c" \
    "$out/tirpc/bench_clnt.c" "$out/tirpc/bench_xdr.c" $TI

taskset -c 1 "$out/rpcserver" "$PORT" 900 > "$out/server.log" 2>&1 &
TS=$!
trap 'kill $TS 2>/dev/null || true; rm -rf "$out"' EXIT
for _ in $(seq 50); do "$out/rpcclient" "$PORT" check > /dev/null 2>&1 && break; sleep 0.1; done

# measure NAME CMD...: one run of CMD, its key=value line appended to NAME.
measure() {
    local name=$1
    shift
    if ! "$@" 2>> "$out/errors" | tail -1 >> "$out/$name.out"; then
        echo "FAILED: $*" >&2
    fi
}

for rep in $(seq "$REPS"); do
    for p in same cross; do
        if [ $p = same ]; then S=0; else S=1; fi
        taskset -pc $S $TS > /dev/null
        C="timeout 120 taskset -c 0"
        measure raw_tcp_$p $C env NB_SERVER_CPU=$S "$out/netbench" pp tcp 20000
        measure raw_unix_$p $C env NB_SERVER_CPU=$S "$out/netbench" pp unix 20000
        measure raw_tcp_epoll_$p $C env FAR_SERVER_CPU=$S "$R" pp tcp-epoll 20000
        measure raw_udp_$p $C env FAR_SERVER_CPU=$S "$R" pp udp 20000
        measure raw_batch_$p $C env NB_SERVER_CPU=$S "$out/netbench" batch tcp 10000
        measure ti_tcp_$p $C "$out/rpcclient" "$PORT" lat tcp 20000
        measure ti_udp_$p $C "$out/rpcclient" "$PORT" lat udp 20000
        measure far_tcp_$p $C env FAR_SERVER_CPU=$S "$B" lat tcp 20000
        measure far_udp_$p $C env FAR_SERVER_CPU=$S "$B" lat udp 20000
        measure far_unix_$p $C env FAR_SERVER_CPU=$S "$B" lat unix 20000
        measure far_pipe_$p $C env FAR_SERVER_CPU=$S "$B" pipe tcp 200000
        measure far_tcp_plain_$p $C env FAR_SERVER_CPU=$S FAR_BENCH_NO_CTX=1 "$B" lat tcp 20000
        measure far_pipe_plain_$p $C env FAR_SERVER_CPU=$S FAR_BENCH_NO_CTX=1 "$B" pipe tcp 200000
        measure far_ucall_drc_$p $C env FAR_SERVER_CPU=$S "$B" ucall drc 20000
        measure far_ucall_nodrc_$p $C env FAR_SERVER_CPU=$S "$B" ucall nodrc 20000
        # security levels (docs/security.md), against level none in the same run
        for lv in auth integ priv; do
            measure far_tcp_${lv}_$p $C env FAR_SERVER_CPU=$S FAR_BENCH_LEVEL=$lv "$B" lat tcp 20000
            measure far_pipe_${lv}_$p $C env FAR_SERVER_CPU=$S FAR_BENCH_LEVEL=$lv "$B" pipe tcp 200000
        done
        measure far_echo1048576_priv_$p $C env FAR_SERVER_CPU=$S FAR_BENCH_LEVEL=priv "$B" echo 1048576 300
        # the cipher alone (bench/aead_bench.c): the four passes a 1 MiB
        # echo at the privacy level makes, on one core, and what they allow
        [ $p = same ] && measure aead $C "$A" 1048576 300
        for sz in 1024 65536 1048576; do
            n=$((sz > 65536 ? 300 : 3000))
            measure raw_echo${sz}_$p $C env FAR_SERVER_CPU=$S "$R" echo $sz $n
            measure ti_echo${sz}_$p $C "$out/rpcclient" "$PORT" echo $sz $n
            measure far_echo${sz}_$p $C env FAR_SERVER_CPU=$S "$B" echo $sz $n
        done
    done
    taskset -pc 0,1 $TS > /dev/null
    for n in 8 32; do
        measure raw_conc$n timeout 120 "$R" conc $n "$CONC_SECS"
        measure ti_conc$n timeout 120 "$out/rpcclient" "$PORT" conc $n "$CONC_SECS"
        measure far_conc$n timeout 120 "$B" conc $n "$CONC_SECS"
    done
done

# stats NAME KEY: "median min max" of KEY over the runs ("" if none).
stats() {
    [ -f "$out/$1.out" ] || return 0
    grep -o "\b$2=[0-9.]*" "$out/$1.out" | cut -d= -f2 | sort -g |
        awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)], v[1], v[NR] }'
}
med() { stats "$1" "$2" | cut -d' ' -f1; }
# cell NAME KEY SCALE DIGITS: "median (min-max)", values divided by SCALE.
cell() {
    local s
    s=$(stats "$1" "$2")
    [ -n "$s" ] || { printf ' '; return; }
    echo "$s" | awk -v k="${3:-1}" -v d="${4:-2}" \
        '{ printf "%.*f (%.*f-%.*f)", d, $1 / k, d, $2 / k, d, $3 / k }'
}
# ratio A B: A / B of two numbers ("" when either is missing).
ratio() {
    [ -n "$1" ] && [ -n "$2" ] || return 0
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b }'
}
ok() { awk -v v="${1%x}" -v t="$3" -v op="$2" 'BEGIN {
    if (v == "") { print "?"; exit }
    m = (op == "le") ? (v <= t) : (v >= t); print m ? "yes" : "**no**" }'; }

row() { printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$@"; }

echo "## farcall runtime vs raw sockets and libtirpc ($REPS runs each; median (min-max))"
echo
row "measurement" "farcall" "raw socket" "libtirpc" "farcall/raw" "farcall/tirpc" "target" "met?"
row "---" "---:" "---:" "---:" "---:" "---:" "---" "---"
for p in same cross; do
    L="[$p]"
    r=$(ratio "$(med far_tcp_$p p50_us)" "$(med raw_tcp_$p median_us)")
    t=$(ratio "$(med far_tcp_$p p50_us)" "$(med ti_tcp_$p median_us)")
    row "null TCP p50, us $L" "$(cell far_tcp_$p p50_us)" "$(cell raw_tcp_$p median_us)" \
        "$(cell ti_tcp_$p median_us)" "$r" "$t" "<= 1.1x raw" "$(ok "$r" le 1.1)"
    row "null TCP p99, us $L" "$(cell far_tcp_$p p99_us)" "$(cell raw_tcp_$p p99_us)" \
        "$(cell ti_tcp_$p p99_us)" "$(ratio "$(med far_tcp_$p p99_us)" "$(med raw_tcp_$p p99_us)")" \
        "$(ratio "$(med far_tcp_$p p99_us)" "$(med ti_tcp_$p p99_us)")" "" ""
    # where the null call's time goes: the event loop (a raw server waiting
    # in epoll_wait, as farcall's does) against the runtime's own code
    row "raw TCP p50, us, server in epoll_wait / blocking in recv $L" \
        "$(cell raw_tcp_epoll_$p p50_us) (epoll)" "$(cell raw_tcp_$p median_us)" "" \
        "$(ratio "$(med raw_tcp_epoll_$p p50_us)" "$(med raw_tcp_$p median_us)")" "" "" ""
    row "null TCP p50, us, farcall / raw server in epoll_wait $L" "$(cell far_tcp_$p p50_us)" \
        "$(cell raw_tcp_epoll_$p p50_us) (epoll)" "" \
        "$(ratio "$(med far_tcp_$p p50_us)" "$(med raw_tcp_epoll_$p p50_us)")" "" "" ""
    r=$(ratio "$(med far_udp_$p p50_us)" "$(med raw_udp_$p p50_us)")
    rt=$(ratio "$(med far_udp_$p p50_us)" "$(med raw_tcp_$p median_us)")
    row "null UDP p50, us $L" "$(cell far_udp_$p p50_us)" "$(cell raw_udp_$p p50_us)" \
        "$(cell ti_udp_$p median_us)" "$r" \
        "$(ratio "$(med far_udp_$p p50_us)" "$(med ti_udp_$p median_us)")" \
        "<= 1.1x raw TCP ($rt)" "$(ok "$rt" le 1.1)"
    row "null UDP p99, us $L" "$(cell far_udp_$p p99_us)" "$(cell raw_udp_$p p99_us)" \
        "$(cell ti_udp_$p p99_us)" "" "" "" ""
    r=$(ratio "$(med far_unix_$p p50_us)" "$(med raw_unix_$p median_us)")
    rt=$(ratio "$(med far_unix_$p p50_us)" "$(med raw_tcp_$p median_us)")
    row "null Unix p50, us $L" "$(cell far_unix_$p p50_us)" "$(cell raw_unix_$p median_us)" "" \
        "$r" "" "<= 1.1x raw TCP ($rt)" "$(ok "$rt" le 1.1)"
    row "null Unix p99, us $L" "$(cell far_unix_$p p99_us)" "$(cell raw_unix_$p p99_us)" "" "" "" "" ""
    on=$(med far_tcp_$p p50_us)
    off=$(med far_tcp_plain_$p p50_us)
    d=$(awk -v a="$on" -v b="$off" 'BEGIN { if (a != "" && b != "") printf "%+.2f", a - b }')
    row "null TCP p50, us, FAR_CTX / plain ONC RPC $L" "$(cell far_tcp_$p p50_us)" \
        "$(cell far_tcp_plain_$p p50_us) (plain)" "" "$(ratio "$on" "$off") ($d us)" "" \
        "<= +1 us" "$(ok "${d#+}" le 1)"
    on=$(med far_pipe_$p calls_s)
    off=$(med far_pipe_plain_$p calls_s)
    r=$(ratio "$on" "$off")
    row "pipelined null, M calls/s, FAR_CTX / plain $L" "$(cell far_pipe_$p calls_s 1e6)" \
        "$(cell far_pipe_plain_$p calls_s 1e6) (plain)" "" "$r" "" ">= 0.9x" "$(ok "$r" ge 0.9)"
    on=$(med far_ucall_drc_$p p50_us)
    off=$(med far_ucall_nodrc_$p p50_us)
    d=$(awk -v a="$on" -v b="$off" 'BEGIN { if (a != "" && b != "") printf "%+.2f", a - b }')
    row "UDP 16-byte call p50, us, cache on / off $L" "$(cell far_ucall_drc_$p p50_us)" \
        "$(cell far_ucall_nodrc_$p p50_us) (off)" "" "$(ratio "$on" "$off") ($d us)" "" \
        "<= +1 us" "$(ok "${d#+}" le 1)"
    for lv in auth integ priv; do
        on=$(med far_tcp_${lv}_$p p50_us)
        off=$(med far_tcp_$p p50_us)
        row "null TCP p50, us, level $lv / none $L" "$(cell far_tcp_${lv}_$p p50_us)" \
            "$(cell far_tcp_$p p50_us) (none)" "" "$(ratio "$on" "$off")" "" "" ""
        on=$(med far_pipe_${lv}_$p calls_s)
        off=$(med far_pipe_$p calls_s)
        row "pipelined null, M calls/s, level $lv / none $L" "$(cell far_pipe_${lv}_$p calls_s 1e6)" \
            "$(cell far_pipe_$p calls_s 1e6) (none)" "" "$(ratio "$on" "$off")" "" "" ""
    done
    f=$(med far_echo1048576_priv_$p MB_s)
    row "echo 1MiB at level priv, MB/s $L" "$(cell far_echo1048576_priv_$p MB_s 1 0)" \
        "$(cell far_echo1048576_$p MB_s 1 0) (none)" "" "$(ratio "$f" "$(med far_echo1048576_$p MB_s)")" \
        "" ">= 1000 MB/s" "$(ok "$f" ge 1000)"
    [ $p = same ] && row "the cipher alone: four AES-GCM passes of 1 MiB, us; the echo they allow, MB/s" \
        "$(cell aead four_passes_us 1 0); $(cell aead echo_ceiling_same_core_MB_s 1 0)" "" "" "" "" \
        "(one core: an upper bound of the row above)" ""
    v=$(med far_pipe_$p calls_s)
    row "pipelined null, 1 conn, M calls/s $L" "$(cell far_pipe_$p calls_s 1e6)" \
        "$(cell raw_batch_$p msgps 1e6)" "" "$(ratio "$v" "$(med raw_batch_$p msgps)")" "" \
        ">= 1.5 M/s" "$(ok "$(awk -v v="$v" 'BEGIN { if (v != "") print v / 1e6 }')" ge 1.5)"
    for sz in 1024 65536 1048576; do
        case $sz in 1024) S=1KiB ;; 65536) S=64KiB ;; *) S=1MiB ;; esac
        f=$(med far_echo${sz}_$p MB_s)
        r=$(ratio "$f" "$(med raw_echo${sz}_$p MB_s)")
        t=$(ratio "$f" "$(med ti_echo${sz}_$p mbps)")
        if [ $sz = 1024 ]; then
            tgt=">= tirpc"
            met=$(ok "$t" ge 1)
        else
            tgt=">= 0.85x raw, >= tirpc"
            a=$(ok "$r" ge 0.85)
            b=$(ok "$t" ge 1)
            met="$a / $b"
        fi
        row "echo $S, MB/s $L" "$(cell far_echo${sz}_$p MB_s 1 0)" \
            "$(cell raw_echo${sz}_$p MB_s 1 0)" "$(cell ti_echo${sz}_$p mbps 1 0)" "$r" "$t" \
            "$tgt" "$met"
    done
done
for n in 8 32; do
    f=$(med far_conc$n calls_s)
    r=$(ratio "$f" "$(med raw_conc$n calls_s)")
    t=$(ratio "$f" "$(med ti_conc$n callsps)")
    row "$n client processes, k calls/s" "$(cell far_conc$n calls_s 1e3 1)" \
        "$(cell raw_conc$n calls_s 1e3 1)" "$(cell ti_conc$n callsps 1e3 1)" "$r" "$t" \
        ">= 0.7x raw, >= 3x tirpc" "$(ok "$r" ge 0.7) / $(ok "$t" ge 3)"
done
echo
echo "raw socket: TCP/Unix ping-pong and the x64 batch from anchors/phys/netbench;" \
    "UDP ping-pong, record-marked echo and the epoll server from bench/raw_bench." \
    "Run took $(($(date +%s) - start)) s."
if [ -s "$out/errors" ]; then
    echo
    echo "stderr of the runs:"
    sed 's/^/    /' "$out/errors" | sort | uniq -c | head -20
fi
