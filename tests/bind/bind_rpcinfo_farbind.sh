#!/usr/bin/env bash
# farbind where rpcbind lives (127.0.0.1:111 tcp/udp, /run/rpcbind.sock), with
# Debian's rpcinfo and an rpcgen + libtirpc server as peers.  Needs root and a
# free port 111 (ctest RESOURCE_LOCK port111 keeps these tests apart).
source "$(dirname "$0")/common.sh"
need_port111
EXTRA_CLEANUP="rm -f /run/rpcbind.sock"
unset FARCALL_BINDER # the library's defaults: unix:/run/rpcbind.sock first

start_farbind fb -a tcp://127.0.0.1:111 -a udp://127.0.0.1:111 -a unix:/run/rpcbind.sock -p 300 -F 2
out=$(rpcinfo -p 127.0.0.1) || fail "rpcinfo -p: $out"
echo "$out" | grep -Eq "100000 +4 +tcp +111 +portmapper" || fail "rpcinfo -p: $out"
pass "rpcinfo -p against farbind"

# --- a farcall server registers in farbind (through /run/rpcbind.sock)
start_peer srv tcp://127.0.0.1:0 udp://127.0.0.1:0 "unix:$TMP/srv.sock"
out=$(rpcinfo -p 127.0.0.1)
echo "$out" | grep -Eq "^ +$TEST_PROG +2 +tcp " || fail "rpcinfo -p lacks the farcall server: $out"
echo "$out" | grep -Eq "^ +$TEST_PROG +3 +udp " || fail "rpcinfo -p lacks udp v3: $out"
out=$(rpcinfo -s 127.0.0.1)
echo "$out" | grep -Eq "^ +$TEST_PROG +3,2 +(local|udp|tcp)" || fail "rpcinfo -s: $out"
echo "$out" | grep -Eq "^ +100000 +4,3,2 " || fail "rpcinfo -s lacks the portmapper: $out"
rpcinfo -T tcp 127.0.0.1 $TEST_PROG 2 | grep -q "ready and waiting" || fail "rpcinfo -T tcp"
rpcinfo -T udp 127.0.0.1 $TEST_PROG 3 | grep -q "ready and waiting" || fail "rpcinfo -T udp"
rpcinfo -T tcp 127.0.0.1 100000 4 | grep -q "ready and waiting" || fail "rpcinfo -T tcp portmapper"
out=$(rpcinfo -T tcp 127.0.0.1 $TEST_PROG 9 2>&1) && fail "rpcinfo of version 9 succeeded"
echo "$out" | grep -qi "version" || fail "rpcinfo version mismatch: $out"
"$FAR" info 127.0.0.1 | grep -Eq "^ +$TEST_PROG +3 +udp" || fail "far info 127.0.0.1"
"$FAR" info tcp://127.0.0.1:111 | grep -q "binder tcp://127.0.0.1:111" || fail "far info tcp://127.0.0.1:111"
"$FAR" ping 127.0.0.1 $TEST_PROG 3 udp | grep -q ready || fail "far ping"
pass "rpcinfo -p, -s, -T tcp|udp see farbind and the farcall server; far info/ping"

# --- an rpcgen + libtirpc server registers in farbind (pmap_set and rpcb_set)
"$TIRPC_PEER" >"$TMP/tirpc.log" 2>&1 &
TPID=$!; PIDS+=("$TPID")
wait_for 10 grep -q ready "$TMP/tirpc.log" || fail "tirpc_peer did not start"
TP=$((0x20000bb2))
rpcinfo -p 127.0.0.1 | grep -Eq "^ +$TP +1 +tcp " || fail "pmap_set registration missing: $(rpcinfo -p 127.0.0.1)"
rpcinfo -s 127.0.0.1 | grep -Eq "^ +$TP +.*2" || fail "rpcb_set registration missing: $(rpcinfo -s 127.0.0.1)"
"$PEER" add1 "$TP/1@localhost" 1 41 | grep -qx "ok 42" || fail "farcall client -> libtirpc v1 (tcp, pmap_set)"
"$PEER" add1 "$TP/2/udp" 2 40 | grep -qx "ok 42" || fail "farcall client -> libtirpc v2 (udp, rpcb_set)"
pass "rpcgen + libtirpc server registered via pmap_set and rpcb_set, called by a farcall client"

# --- libtirpc servers never unregister: the probe removes them when killed
kill -9 "$TPID"
wait_for 10 sh -c "! rpcinfo -p 127.0.0.1 | grep -q ' $TP '" || fail "stale libtirpc entries stay"
pass "stale libtirpc entries removed after the server was killed"

stop_pid "$srv_PID"
rpcinfo -p 127.0.0.1 | grep -q " $TEST_PROG " && fail "farcall server still registered after stop"
stop_pid "$fb_PID"

# --- default addresses: as root with port 111 free, farbind listens where
# rpcbind does; with -U, on the documented unprivileged defaults
start_farbind def -p 0
grep -q "listening on tcp://0.0.0.0:111" "$TMP/def.log" || fail "default: no tcp port 111: $(cat "$TMP/def.log")"
grep -q "listening on udp://0.0.0.0:111" "$TMP/def.log" || fail "default: no udp port 111"
[ -S /run/rpcbind.sock ] || fail "default: no /run/rpcbind.sock"
rpcinfo -p 127.0.0.1 | grep -Eq "100000 +2 +udp +111 +portmapper" || fail "rpcinfo -p against the default farbind"
stop_pid "$def_PID"
start_farbind unpriv -U -p 0
"$FAR" info tcp://127.0.0.1:7111 | grep -q "binder tcp://127.0.0.1:7111" || fail "-U: no binder on 127.0.0.1:7111"
"$FAR" info "tcp://[::1]:7111" | grep -q "100000" || fail "-U: no binder on [::1]:7111"
FARCALL_BINDER=unix:/tmp/farbind.sock "$FAR" info | grep -q "100000" || fail "-U: no binder on unix:/tmp/farbind.sock"
ss -Hlnt 'sport = :111' | grep -q . && fail "-U: something listens on 111"
stop_pid "$unpriv_PID"
pass "default addresses: port 111 and /run/rpcbind.sock as root; -U: 127.0.0.1/[::1]:7111 and /tmp/farbind.sock"
pass "all done"
