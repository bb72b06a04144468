#!/usr/bin/env bash
# run_example.sh NAME SERVER CLIENT [CLIENT-ARGS...]
# Starts SERVER on a Unix socket in a fresh temporary directory, runs CLIENT
# against it, checks the output, and stops the server (SIGTERM: graceful
# stop).  Every wait is bounded.
set -euo pipefail
name=$1 server=$2 client=$3
shift 3
dir=$(mktemp -d /tmp/farcall-example.XXXXXX)
[[ $name == sysauth ]] && chmod 755 "$dir" # its client also runs as nobody
addr="unix:$dir/$name.sock"
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

# authcomp runs at the privacy level with a key file both sides read.
if [[ $name == authcomp ]]; then
    head -c 32 /dev/urandom >"$dir/authcomp.key"
    chmod 600 "$dir/authcomp.key"
    export AUTHCOMP_KEY="$dir/authcomp.key"
fi

# With no server, the client says so plainly.
if "$client" "$addr" "$@" >"$dir/refused.out" 2>&1; then
    echo "FAIL: $name client succeeded with no server"; exit 1
fi
grep -q "is the server running?" "$dir/refused.out" ||
    { echo "FAIL: unclear error without a server:"; cat "$dir/refused.out"; exit 1; }

"$server" "$addr" >"$dir/server.out" 2>&1 &
pid=$!
for _ in $(seq 100); do
    grep -q "listening on" "$dir/server.out" 2>/dev/null && break
    sleep 0.05
done
grep -q "listening on" "$dir/server.out" || { echo "FAIL: server did not start"; cat "$dir/server.out"; exit 1; }

"$client" "$addr" "$@" | tee "$dir/client.out"
case $name in
    rtime)    grep -q "^server time: [0-9]*\.[0-9]\{6\}" "$dir/client.out" ;;
    authcomp) grep -q "^connected at level priv as authcomp\$" "$dir/client.out" &&
              grep -q "12 squared is 144, cubed 1728" "$dir/client.out" &&
              grep -q "^user [0-9]* is " "$dir/client.out" &&
              grep -q "USER_NAME for authcomp at level priv" "$dir/server.out" &&
              # another key under the same name: refused, the server says why
              head -c 32 /dev/urandom >"$dir/other.key" && chmod 600 "$dir/other.key" &&
              ! AUTHCOMP_KEY="$dir/other.key" "$client" "$addr" >"$dir/wrong.out" 2>&1 &&
              grep -q "refused the handshake" "$dir/wrong.out" &&
              grep -q "refused .*identity \"authcomp\".*does not verify" "$dir/server.out" &&
              # a world-readable key file is not used
              chmod 644 "$dir/other.key" &&
              ! AUTHCOMP_KEY="$dir/other.key" "$client" "$addr" >"$dir/open.out" 2>&1 &&
              grep -q "may be read or written by others" "$dir/open.out" &&
              # far call at the privacy level with the key file (far of this build tree)
              far="$(dirname "$client")/../../tools/far/far" &&
              { [[ ! -x $far ]] ||
                { [[ $("$far" call --level priv --key "$AUTHCOMP_KEY" --identity authcomp \
                        "$addr" 0x20000321.1.1 12) == '"144"' ]] &&
                  ! "$far" call "$addr" 0x20000321.1.1 12 2>"$dir/far.err" &&
                  grep -q "AUTH_TOOWEAK" "$dir/far.err"; }; } ;;
    bank)     grep -q "^DEPOSIT  exactly-once\$" "$dir/client.out" &&
              grep -q "^alice: deposit 100 (exactly-once) -> 100\$" "$dir/client.out" &&
              grep -q "^alice: withdraw 30 (at-most-once) -> 70\$" "$dir/client.out" &&
              grep -q "^alice: balance (at-least-once) -> 70\$" "$dir/client.out" &&
              grep -q "^alice: deposit 5 (called at-most-once) -> 75\$" "$dir/client.out" ;;
    calc)     grep -q "6 \* 7 = 42" "$dir/client.out" && grep -q "sqrt(42) = 6.4807" "$dir/client.out" ;;
    echo)     grep -q "^echo: $1\$" "$dir/client.out" ;;
    rdir)     grep -q "^server working directory: /" "$dir/client.out" &&
              grep -q "  /usr/lib" "$dir/client.out" ;;
    primes)   [[ $(grep -c "^round [12]: 17984 primes below 200000 in 8 async calls\$" \
                  "$dir/client.out") == 2 ]] &&
              grep -q "^\[175000, 200000): 2068 primes, the largest 199933 199961 199967 199999\$" \
                  "$dir/client.out" &&
              grep -q "^nap of 500 ms with a 100 ms deadline: FAR_ETIMEDOUT (unix:.* proc 2: " \
                  "$dir/client.out" &&
              grep -q "^count of \[10, 5): FAR_EGARBAGE_ARGS (unix:.* proc 1: " "$dir/client.out" ;;
    sysauth)  me=$(id -u)
              grep -q "^AUTH_NONE: secret refused: FAR_EAUTH, auth_stat 5 AUTH_TOOWEAK " "$dir/client.out" &&
              grep -q "^AUTH_SYS as uid $me: the server sees uid $me .*; the kernel says uid $me\$" \
                  "$dir/client.out" &&
              grep -q "^AUTH_SYS as uid $me: secret: the owls" "$dir/client.out" &&
              grep -q "^AUTH_SYS claiming uid $((me + 1000)): secret refused: FAR_EAUTH, auth_stat 1 AUTH_BADCRED " \
                  "$dir/client.out" ;;
    *)        echo "FAIL: no output check for example '$name': add one to the case list" \
                   "in examples/run_example.sh"
              exit 1 ;;
esac || { echo "FAIL: unexpected client output"; exit 1; }

if [[ $name == sysauth && $(id -u) == 0 ]]; then
    # another uid, honest about itself: not the uid the secret is for
    setpriv --reuid=65534 --regid=65534 --clear-groups "$client" "$addr" | tee "$dir/nobody.out"
    grep -q "^AUTH_SYS as uid 65534: .*; the kernel says uid 65534\$" "$dir/nobody.out" &&
    grep -q "^AUTH_SYS as uid 65534: secret refused: FAR_EAUTH, auth_stat 5 AUTH_TOOWEAK " "$dir/nobody.out" ||
        { echo "FAIL: uid 65534 was not refused the secret"; exit 1; }
fi

kill -TERM "$pid"
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then echo "FAIL: server did not stop"; exit 1; fi
wait "$pid" || { echo "FAIL: server exit status"; exit 1; }
pid=
if [[ $name == rdir ]]; then
    grep -q "message from unix:.*: $1" "$dir/server.out" ||
        { echo "FAIL: message not on the server's output"; cat "$dir/server.out"; exit 1; }
fi
if [[ $name == sysauth ]]; then
    grep -q "claims uid $(($(id -u) + 1000)) but the kernel says $(id -u)\$" "$dir/server.out" ||
        { echo "FAIL: the server did not catch the false claim"; cat "$dir/server.out"; exit 1; }
fi
grep -q "stopped" "$dir/server.out"
echo "PASS: $name"
