#!/usr/bin/env bash
# run_rpc.sh [BUILD]: farcall's runtime (rpc_bench) beside its anchors in the
# same run -- the raw socket ping-pong / pipelined batch of
# shared/bench/anchors/phys/netbench and the rpcgen + libtirpc client/server
# of shared/bench/anchors/tirpc -- pinned same-core (client and server on CPU
# 0) and cross-core (client CPU 0, server CPU 1) as the anchors' README says.
# Multi-process runs are unpinned.  Prints one line per measurement.
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
anchors=${ANCHORS:-$here/../../shared/bench/anchors}
[ -d "$anchors" ] || anchors=/work/shared/bench/anchors
out=$(mktemp -d /tmp/run_rpc.XXXXXX)
PORT=${PORT:-20621}
export FARCALL_QUIET=1

cmake --build "$build" --target rpc_bench > /dev/null
B="$build/bench/rpc_bench"

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

run() { printf '%-28s ' "$1"; shift; "$@" 2>&1 | tail -1; }

for p in same cross; do
    if [ $p = same ]; then
        S=0; taskset -pc 0 $TS > /dev/null
    else
        S=1; taskset -pc 1 $TS > /dev/null
    fi
    C="timeout 120 taskset -c 0"
    run "raw pp tcp [$p]"        $C env NB_SERVER_CPU=$S "$out/netbench" pp tcp 50000
    run "raw pp unix [$p]"       $C env NB_SERVER_CPU=$S "$out/netbench" pp unix 50000
    run "raw batch64 tcp [$p]"   $C env NB_SERVER_CPU=$S "$out/netbench" batch tcp 20000
    run "tirpc null tcp [$p]"    $C "$out/rpcclient" "$PORT" lat tcp 20000
    run "tirpc null udp [$p]"    $C "$out/rpcclient" "$PORT" lat udp 20000
    run "farcall null tcp [$p]"  $C env FAR_SERVER_CPU=$S "$B" lat tcp 20000
    run "farcall null udp [$p]"  $C env FAR_SERVER_CPU=$S "$B" lat udp 20000
    run "farcall null unix [$p]" $C env FAR_SERVER_CPU=$S "$B" lat unix 20000
    run "farcall pipelined [$p]" $C env FAR_SERVER_CPU=$S "$B" pipe tcp 200000
    for sz in 1024 65536 1048576; do
        n=$((sz > 65536 ? 300 : 3000))
        run "tirpc echo $sz [$p]"   $C "$out/rpcclient" "$PORT" echo $sz $n
        run "farcall echo $sz [$p]" $C env FAR_SERVER_CPU=$S "$B" echo $sz $n
    done
done
taskset -pc 0,1 $TS > /dev/null
for n in 8 32; do
    run "tirpc conc $n"   timeout 120 "$out/rpcclient" "$PORT" conc $n 3
    run "farcall conc $n" timeout 120 "$B" conc $n 3
done
