#!/usr/bin/env bash
# A farcall server registering in Debian's rpcbind, found by a farcall client
# (PROG/VERS@localhost), by far and by rpcinfo.  rpcbind is started here in
# the foreground and stopped at the end.  (Debian 12's `rpcbind -h 127.0.0.1`
# aborts with "double free", so rpcbind binds its wildcard addresses; every
# call this test makes goes to 127.0.0.1 or /run/rpcbind.sock.)  Needs root and a
# free port 111 (ctest RESOURCE_LOCK port111).
source "$(dirname "$0")/common.sh"
need_port111
RPCBIND=$(command -v rpcbind || echo /usr/sbin/rpcbind)
[ -x "$RPCBIND" ] || fail "rpcbind not installed (scripts/deps.sh installs it)"
EXTRA_CLEANUP="rm -f /run/rpcbind.sock"
unset FARCALL_BINDER

"$RPCBIND" -f >"$TMP/rpcbind.log" 2>&1 &
RPID=$!; PIDS+=("$RPID")
wait_for 10 test -S /run/rpcbind.sock || fail "rpcbind did not start"
wait_for 10 rpcinfo -T tcp 127.0.0.1 100000 4 || fail "rpcbind not answering"

start_peer srv tcp://127.0.0.1:0 udp://127.0.0.1:0 "unix:$TMP/srv.sock"
out=$(rpcinfo -p 127.0.0.1)
echo "$out" | grep -Eq "^ +$TEST_PROG +2 +tcp " || fail "rpcbind lacks the farcall server: $out"
rpcinfo -T udp 127.0.0.1 $TEST_PROG 3 | grep -q "ready and waiting" || fail "rpcinfo -T udp"
rpcinfo -s 127.0.0.1 | grep -Eq "^ +$TEST_PROG +3,2 .* +(superuser|0) *$" || fail "owner: $(rpcinfo -s 127.0.0.1)"
pass "farcall server registered in Debian's rpcbind (owner superuser via /run/rpcbind.sock)"

"$PEER" call "$TEST_PROG/2@localhost" 2 | grep -q "^ok tcp://127.0.0.1:" || fail "farcall client lookup"
"$PEER" call "$TEST_PROG/3/udp" 3 | grep -q "^ok udp://" || fail "farcall client lookup (udp)"
"$PEER" call "$TEST_PROG/3/unix" 3 | grep -q "^ok unix:" || fail "farcall client lookup (unix)"
"$FAR" info | grep -q "binder unix:/run/rpcbind.sock" || fail "far info via rpcbind"
"$FAR" ping localhost $TEST_PROG 2 | grep -q ready || fail "far ping via rpcbind"
out=$("$FAR" ping localhost $TEST_PROG 5 2>&1) && fail "ping v5"
echo "$out" | grep -q "version mismatch (server has 2–3)" || fail "version mismatch via rpcbind: $out"
out=$("$PEER" name lookup foo 2>&1) && fail "names at rpcbind"
pass "farcall client, far info and far ping find it through rpcbind"

stop_pid "$srv_PID"
rpcinfo -p 127.0.0.1 | grep -q " $TEST_PROG " && fail "still registered in rpcbind after stop"
pass "stopping the server unregistered it from rpcbind"
stop_pid "$RPID"
pass "all done"
