#!/usr/bin/env bash
# fileserver.sh SERVER FAR [FAULTPROXY]: the fileserver example (examples/fileserver) and
# far get / far put against it, on a Unix socket and on TCP 127.0.0.1:
# bytes compared with cmp; the path checks (.., absolute paths, symbolic
# links leading out: refused; a link inside: served); no partial file left;
# quiet when standard error is not a terminal, a progress bar when it is
# (script(1) gives it one).  Every wait is bounded; the server is stopped.
set -euo pipefail
server=$1 far=$2 proxy=${3:-}
dir=$(mktemp -d /tmp/farcall-fileserver.XXXXXX)
root=$dir/root
mkdir -p "$root/sub" "$dir/here" "$dir/outside"
pid=
cleanup() {
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

head -c 3000000 /dev/urandom >"$root/sub/big.bin"
printf 'x' >"$root/one"
: >"$root/empty"
echo secret >"$dir/outside/secret"
ln -s ../outside/secret "$root/out-link"
ln -s /etc/passwd "$root/abs-link"
ln -s "$dir/outside" "$root/out-dir"
ln -s sub/big.bin "$root/in-link"

"$server" "$root" "unix:$dir/fs.sock" >"$dir/server.out" 2>&1 &
pid=$!
for _ in $(seq 100); do
    grep -q "listening on" "$dir/server.out" 2>/dev/null && break
    sleep 0.05
done
grep -q "listening on" "$dir/server.out" || { cat "$dir/server.out"; fail "server did not start"; }
u="unix:$dir/fs.sock"
cd "$dir/here"

# get: sizes, the default local name, quiet output when not a terminal
for f in sub/big.bin one empty; do
    "$far" get "$u:$f" "got-$(basename $f)" 2>"$dir/err" || { cat "$dir/err"; fail "get $f"; }
    cmp "$root/$f" "got-$(basename $f)" || fail "get $f: bytes differ"
    [[ ! -s $dir/err ]] || { cat "$dir/err"; fail "get $f: not quiet without a terminal"; }
done
"$far" get "$u:sub/big.bin" 2>/dev/null || fail "get with the default name"
cmp "$root/sub/big.bin" big.bin || fail "default name: bytes differ"
"$far" get "$u:in-link" linked 2>/dev/null || fail "a link inside the root is served"
cmp "$root/sub/big.bin" linked || fail "in-link: bytes differ"

# put, then get it back
"$far" put got-big.bin "$u:sub/stored.bin" 2>"$dir/err" || { cat "$dir/err"; fail "put"; }
cmp "$root/sub/big.bin" "$root/sub/stored.bin" || fail "put: bytes differ"
"$far" put got-empty "$u:stored-empty" || fail "put of 0 bytes"
[[ -f $root/stored-empty && ! -s $root/stored-empty ]] || fail "put of 0 bytes: no empty file"

# the path checks: refused, with a reason, and nothing written outside
for p in ../outside/secret /etc/passwd out-link abs-link out-dir/secret sub/../../outside/secret; do
    if "$far" get "$u:$p" stolen 2>"$dir/err"; then fail "get $p was served"; fi
    grep -qiE "outside|refused|denied" "$dir/err" || { cat "$dir/err"; fail "get $p: no reason"; }
    [[ ! -e stolen && ! -e stolen.far-part ]] || fail "get $p: left a file"
done
for p in ../evil /tmp/evil out-dir/evil; do
    if "$far" put got-one "$u:$p" 2>"$dir/err"; then fail "put $p was taken"; fi
    grep -qiE "outside|refused|denied" "$dir/err" || { cat "$dir/err"; fail "put $p: no reason"; }
done
[[ ! -e $dir/evil && ! -e $dir/outside/evil && ! -e /tmp/evil-farcall-never ]] || fail "written outside"
if "$far" get "$u:no/such" x 2>"$dir/err"; then fail "a missing file was served"; fi
grep -q "No such file" "$dir/err" || { cat "$dir/err"; fail "missing file: no reason"; }
# no temporary or partial file anywhere
if find "$dir" -name '*.far-*' | grep -q .; then find "$dir" -name '*.far-*'; fail "left over"; fi

# a progress bar on a terminal: bytes, rate, time
if command -v script >/dev/null; then
    script -qec "'$far' get '$u:sub/big.bin' tty.bin" "$dir/tty.log" >/dev/null
    cmp "$root/sub/big.bin" tty.bin || fail "tty get: bytes differ"
    grep -q "100%" "$dir/tty.log" && grep -q "MiB" "$dir/tty.log" && grep -q "/s" "$dir/tty.log" ||
        { cat -v "$dir/tty.log"; fail "no progress bar on a terminal"; }
fi

# TCP on 127.0.0.1 (a second server)
kill -TERM "$pid"; wait "$pid" || true
"$server" "$root" tcp://127.0.0.1:0 >"$dir/server.out" 2>&1 &
pid=$!
for _ in $(seq 100); do
    grep -q "listening on" "$dir/server.out" 2>/dev/null && break
    sleep 0.05
done
t=$(sed -n 's/.*listening on \(tcp:[^ ]*\).*/\1/p' "$dir/server.out")
[[ -n $t ]] || { cat "$dir/server.out"; fail "tcp server did not start"; }
"$far" get "$t:sub/big.bin" tcp.bin 2>/dev/null || fail "get over tcp"
cmp "$root/sub/big.bin" tcp.bin || fail "tcp get: bytes differ"
"$far" put tcp.bin "$t:tcp-stored" 2>/dev/null || fail "put over tcp"
cmp "$root/sub/big.bin" "$root/tcp-stored" || fail "tcp put: bytes differ"

# Through faultproxy resetting the connection now and then (-X: before a
# 16 KiB chunk, seeded): far get and far put resume after each reset and
# the bytes arrive whole.
if [[ -n $proxy ]]; then
    head -c 8000000 /dev/urandom >"$root/flaky.bin"
    hostport=${t#tcp://}
    "$proxy" -p tcp -l 127.0.0.1:0 -t "$hostport" -X 0.004 -s 7 -T 60 >"$dir/proxy.out" 2>&1 &
    ppid=$!
    for _ in $(seq 100); do grep -q "^ready" "$dir/proxy.out" && break; sleep 0.05; done
    pa=$(sed -n 's/^ready tcp:\/\/\(.*\)/\1/p' "$dir/proxy.out")
    [[ -n $pa ]] || { kill "$ppid"; cat "$dir/proxy.out"; fail "faultproxy did not start"; }
    ok=1
    "$far" get -r 200 "tcp://$pa:flaky.bin" flaky.bin 2>"$dir/err" || ok=0
    [[ $ok = 1 ]] && cmp "$root/flaky.bin" flaky.bin || ok=0
    "$far" put -r 200 flaky.bin "tcp://$pa:flaky-back.bin" 2>>"$dir/err" || ok=0
    [[ $ok = 1 ]] && cmp "$root/flaky.bin" "$root/flaky-back.bin" || ok=0
    kill -TERM "$ppid"; wait "$ppid" || true
    resets=$(sed -n 's/.*resets=\([0-9]*\).*/\1/p' "$dir/proxy.out")
    echo "through faultproxy: ${resets:-?} connection resets"
    [[ $ok = 1 ]] || { cat "$dir/err" "$dir/proxy.out"; fail "far get/put through resets"; }
    [[ ${resets:-0} -gt 0 ]] || { cat "$dir/proxy.out"; fail "the proxy reset nothing (the test tests nothing)"; }
    if find "$dir" -name '*.far-*' | grep -q .; then find "$dir" -name '*.far-*'; fail "left over after resets"; fi
fi
echo "ok: fileserver, far get, far put"
