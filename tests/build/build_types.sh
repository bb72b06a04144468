#!/usr/bin/env bash
# Builds the library, tools and examples as a user would (no tests, no
# benchmarks) in Release and Debug, with gcc and with clang, each with
# -DFARCALL_WERROR=ON: a warning that only one optimisation level or one
# compiler reports (gcc -O2's -Wmaybe-uninitialized, say) fails this test
# instead of failing a user's build.  A missing compiler is skipped; neither
# being there is a failure.  Everything is built in a temporary directory
# that is removed afterwards.
#
# usage: build_types.sh SOURCE_DIR
set -euo pipefail
src=$1
work=$(mktemp -d /tmp/farcall-build-types.XXXXXX)
trap 'rm -rf "$work"' EXIT
# Run under make (make test), ctest may pass make's jobserver settings down;
# these builds choose their own -j.
unset MAKEFLAGS MFLAGS MAKELEVEL
# At the lowest priority, so that the timing-sensitive tests ctest runs in
# parallel are not starved of CPU by the compilers.
nice=()
command -v nice >/dev/null && nice=(nice -n 19)

compilers=()
for cc in gcc clang; do
    if command -v "$cc" >/dev/null; then
        compilers+=("$cc")
    else
        echo "skip $cc: not installed"
    fi
done
if [ ${#compilers[@]} = 0 ]; then
    echo "FAIL: neither gcc nor clang is installed"
    exit 1
fi

# one_build CC TYPE: configures and builds one combination; its report (and
# the log's errors when it fails) goes to $work/CC-TYPE.result, and its exit
# status says whether it passed.
one_build() {
    local cc=$1 type=$2
    local b=$work/$cc-$type start=$SECONDS
    exec >"$b.result" 2>&1
    if ! "${nice[@]}" cmake -S "$src" -B "$b" -DCMAKE_C_COMPILER="$cc" \
            -DCMAKE_BUILD_TYPE="$type" -DFARCALL_WERROR=ON -DFARCALL_TESTS=OFF \
            -DFARCALL_BENCH=OFF >"$b.log" 2>&1; then
        cat "$b.log"
        echo "FAIL $cc $type: cmake configure"
        return 1
    fi
    # -Werror must really be on, or this test checks nothing.
    if ! grep -q -- '-Werror' "$b/CMakeFiles/farcall.dir/flags.make"; then
        echo "FAIL $cc $type: -DFARCALL_WERROR=ON did not add -Werror to the library's flags"
        return 1
    fi
    if ! "${nice[@]}" cmake --build "$b" -j2 >>"$b.log" 2>&1; then
        if grep -q -E 'error|warning' "$b.log"; then
            grep -E -B2 -A6 'error|warning' "$b.log" | head -n 80 || true
        else
            tail -n 40 "$b.log"
        fi
        echo "FAIL $cc $type: build (log above)"
        return 1
    fi
    echo "ok $cc $type ($((SECONDS - start)) s)"
    rm -rf "$b"
}

# The four at once: at the lowest priority they take only the CPU the tests
# leave idle, and together they leave none idle.
pids=()
names=()
for cc in "${compilers[@]}"; do
    for type in Release Debug; do
        one_build "$cc" "$type" &
        pids+=($!)
        names+=("$cc-$type")
    done
done
fail=0
for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || fail=$((fail + 1))
    cat "$work/${names[$i]}.result"
done
[ $fail = 0 ]
