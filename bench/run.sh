#!/usr/bin/env bash
# Builds the benchmarks in the CMake build directory $1 (default: build) and
# runs the XDR benchmark $REPS times (default 3) pinned to CPU 0, printing a
# Markdown table of medians and min-max (bench/README.md explains the rows).
#
#   bench/run.sh [BUILD_DIR]        REPS=5 ITERS=2000000 bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${1:-build}
REPS=${REPS:-3}
ITERS=${ITERS:-1000000}
CPU=${CPU:-0}
OUTD=$(mktemp -d /tmp/farcall-bench.XXXXXX)
trap 'rm -rf "$OUTD"' EXIT

case "$REPS" in '' | *[!0-9]*) echo "REPS must be a number" >&2; exit 2 ;; esac
if [ "$REPS" -lt 1 ] || [ "$REPS" -gt 50 ]; then
    echo "REPS must be 1..50" >&2
    exit 2
fi

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
fi
cmake --build "$BUILD" --target xdr_bench -j "$(nproc)" > "$OUTD/build.log" 2>&1 || {
    cat "$OUTD/build.log" >&2
    echo "bench: build failed (xdr_bench needs rpcgen and libtirpc-dev)" >&2
    exit 1
}
BENCH="$BUILD/bench/xdr_bench"

# Each run is bounded in time (timeout) and in count (ITERS, checked by the program).
for _ in $(seq "$REPS"); do
    if ! timeout 300 taskset -c "$CPU" "$BENCH" "$ITERS" >> "$OUTD/xdr.out"; then
        echo "bench: xdr_bench failed" >&2
        exit 1
    fi
done

# row KEY LABEL UNIT: "| LABEL | median | UNIT | min - max |" over the runs
row() {
    local key=$1 label=$2 unit=$3
    grep -o "\b$key=[0-9.]*" "$OUTD/xdr.out" | cut -d= -f2 | sort -g |
        awk -v l="$label" -v u="$unit" '
            { v[NR] = $1 }
            END {
                if (NR == 0) { printf "| %-52s | %9s | %-9s | %-17s |\n", l, "n/a", u, "-"; exit }
                printf "| %-52s | %9s | %-9s | %-17s |\n", l, v[int((NR + 1) / 2)], u, v[1] " - " v[NR]
            }'
}
header() {
    printf "| %-52s | %9s | %-9s | %-17s |\n" "metric" "median" "unit" "min - max ($REPS runs)"
    printf "|%s|%s|%s|%s|\n" "------------------------------------------------------" \
        "----------:" "-----------" "-------------------"
}

echo "## Machine"
echo
echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
echo "- nproc: $(nproc)"
echo "- cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')" \
    "(family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' '))"
echo "- kernel: $(uname -srm)"
cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
echo "- compiler: $("${cc:-cc}" --version | head -1)"
echo "- glibc: $(ldd --version | head -1 | awk '{print $NF}')"
echo

wire=$(grep -o 'wire_bytes=[0-9]*' "$OUTD/xdr.out" | head -1 | cut -d= -f2)
echo "## XDR codec: farcall vs rpcgen + libtirpc $(dpkg-query -W -f='${Version}' libtirpc3 2> /dev/null || true)"
echo
echo "bench.x \`record\`, $wire bytes on the wire, $ITERS iterations per run;"
echo "64 KiB opaque, $((ITERS / 50)) iterations per run; pinned to CPU $CPU (taskset)."
echo
header
row far_enc_ns "farcall record encode" "ns/struct"
row tirpc_enc_ns "libtirpc record encode" "ns/struct"
row enc_ratio "encode: libtirpc / farcall" "x"
row far_dec_alloc_ns "farcall record decode, arena + far_arena_reset" "ns/struct"
row tirpc_dec_alloc_ns "libtirpc record decode, xdr allocates + xdr_free" "ns/struct"
row dec_alloc_ratio "decode with allocation: libtirpc / farcall" "x"
row far_dec_prealloc_ns "farcall record decode, preallocated buffers" "ns/struct"
row tirpc_dec_ns "libtirpc record decode, preallocated buffers" "ns/struct"
row dec_prealloc_ratio "decode, preallocated: libtirpc / farcall" "x"
row memcpy64k_gbps "memcpy 64 KiB, dst-src=64 mod 4K" "GB/s"
row memcpy64k_alias_gbps "memcpy 64 KiB, dst-src=+4 mod 4K (trap)" "GB/s"
row put64k_gbps "far_xdr_put_opaque 64 KiB, payload 64-B aligned" "GB/s"
row put64k_ratio "  / memcpy" "x"
row put64k_alias_gbps "far_xdr_put_opaque 64 KiB, page-aligned src+buf (+4)" "GB/s"
row put64k_alias_ratio "  / memcpy" "x"
row get64k_gbps "far_xdr_get_opaque 64 KiB, arena, dst-src=-64" "GB/s"
row get64k_ratio "  / memcpy" "x"
row get64k_alias_gbps "far_xdr_get_opaque 64 KiB, arena, dst-src=+4" "GB/s"
row get64k_alias_ratio "  / memcpy" "x"
row getzc64k_ns "far_xdr_get_opaque 64 KiB, zero-copy (no copy)" "ns/call"
row tirpc_bytes64k_enc_gbps "libtirpc xdr_bytes 64 KiB encode, 64-B aligned" "GB/s"
row tirpc_bytes64k_enc_alias_gbps "libtirpc xdr_bytes 64 KiB encode, +4" "GB/s"
