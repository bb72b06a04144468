#!/usr/bin/env bash
# ab_ctx.sh [BUILD] [PAIRS]: the cost of FAR_CTX and of the duplicate request
# cache, measured in pairs.  Each pair runs the same rpc_bench measurement
# twice back to back, with the feature and without (FAR_BENCH_NO_CTX=1:
# plain ONC RPC; `ucall nodrc`: the cache off), so the slow and fast modes
# of a shared machine (bench/README.md) hit both alike; the result is the
# median of the per-pair ratios (throughput) or differences (p50).  Pinned
# as run_rpc.sh pins: client on CPU 0, server on CPU 0 (same core) or 1
# (cross core).  Environment: PAIRS (default 11).
set -euo pipefail
build=${1:-build}
PAIRS=${2:-${PAIRS:-11}}
export FARCALL_QUIET=1
cmake --build "$build" --target rpc_bench > /dev/null
B="$build/bench/rpc_bench"

one() { # one FIELD S ENV... -- ARGS: the figure FIELD (calls_s, p50_us) of one run
    local f=$1 s=$2
    shift 2
    local env=()
    while [ "$1" != -- ]; do
        env+=("$1")
        shift
    done
    shift
    env "${env[@]}" FAR_SERVER_CPU="$s" taskset -c 0 "$B" "$@" 2>/dev/null | tail -1 |
        sed -E "s/.*$f=([0-9.]+).*/\1/"
}

pairs() { # pairs NAME KIND S ARGS_A -- ARGS_B: KIND ratio|diff
    local name=$1 kind=$2 s=$3
    shift 3
    local a=() b=()
    while [ "$1" != -- ]; do
        a+=("$1")
        shift
    done
    shift
    b=("$@")
    local vals=()
    for _ in $(seq "$PAIRS"); do
        local x y
        local f=calls_s
        [ "$kind" = diff ] && f=p50_us
        x=$(one $f "$s" X=1 -- "${a[@]}")
        y=$(one $f "$s" "${b[0]}" -- "${b[@]:1}")
        vals+=("$x $y")
    done
    printf '%s\n' "${vals[@]}" | python3 -c '
import sys, statistics as st
kind, name = sys.argv[1], sys.argv[2]
rows = [tuple(map(float, l.split())) for l in sys.stdin if l.strip()]
a = st.median(r[0] for r in rows); b = st.median(r[1] for r in rows)
if kind == "ratio":
    v = st.median(x / y for x, y in rows)
    print(f"| {name} | {a/1e6:.2f} M/s | {b/1e6:.2f} M/s | {v:.3f}x | {min(x/y for x,y in rows):.3f}-{max(x/y for x,y in rows):.3f} |")
else:
    v = st.median(x - y for x, y in rows)
    print(f"| {name} | {a:.2f} us | {b:.2f} us | {v:+.2f} us | {min(x-y for x,y in rows):+.2f}-{max(x-y for x,y in rows):+.2f} |")
' "$kind" "$name"
}

echo "| measurement ($PAIRS pairs) | with | without | median of pairs | range |"
echo "|---|---|---|---|---|"
for s in 0 1; do
    p=$([ $s = 0 ] && echo same || echo cross)
    pairs "pipelined null calls, FAR_CTX vs plain [$p]" ratio $s pipe tcp 200000 -- \
        FAR_BENCH_NO_CTX=1 pipe tcp 200000
    pairs "null TCP p50, FAR_CTX vs plain [$p]" diff $s lat tcp 20000 -- \
        FAR_BENCH_NO_CTX=1 lat tcp 20000
    pairs "UDP call p50, cache on vs off [$p]" diff $s ucall drc 20000 -- X=1 ucall nodrc 20000
done
