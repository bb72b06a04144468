#!/usr/bin/env bash
# farbind's prober against a registration that never answers: a TCP listener
# on 127.0.0.1 whose backlog is full, so connects to it hang.  The entries of
# a killed server are still removed within a bound, live entries stay, the
# black-holed ones go, and SIGTERM stops farbind at once even mid-probe.
source "$(dirname "$0")/common.sh"
OTHER=$((0x20000bb3)) # bind_peer serve-other
BH_PROG=$((0x20000e00))

now_ms() { date +%s%3N; }

"$PEER" blackhole >"$TMP/bh.log" 2>&1 &
PIDS+=("$!")
wait_for 10 grep -q ready "$TMP/bh.log" || fail "the black hole did not start: $(cat "$TMP/bh.log")"
BH_PORT=$(grep -o 'tcp://127.0.0.1:[0-9]*' "$TMP/bh.log" | sed 's/.*://')
BH_UADDR="127.0.0.1.$((BH_PORT >> 8)).$((BH_PORT & 255))"
BH_UDP=$(grep -o 'udp://127.0.0.1:[0-9]*' "$TMP/bh.log" | sed 's/.*://')
BH_UDP_UADDR="127.0.0.1.$((BH_UDP >> 8)).$((BH_UDP & 255))"

# 12 black-holed entries: probed one after another at 0.5 s each, a round
# would take 6 s; -F 3 keeps them through two failed rounds at least
start_farbind fb -a "unix:$TMP/fb.sock" -a tcp://127.0.0.1:0 -p 200 -F 3
export FARCALL_BINDER="unix:$TMP/fb.sock"
for i in $(seq 12); do
  "$PEER" set $((BH_PROG + i)) 1 tcp "$BH_UADDR" | grep -qx true || fail "SET of black-holed entry $i"
done
start_peer live tcp://127.0.0.1:0 udp://127.0.0.1:0
start_peer victim other tcp://127.0.0.1:0 udp://127.0.0.1:0
[ "$(count $OTHER)" = 2 ] || fail "victim not registered: $(count $OTHER)"
sleep 0.5 # probing is under way, the black hole's probes among them
kill -9 "$victim_PID"
t0=$(now_ms)
wait_for 10 sh -c "[ \"\$('$PEER' count $OTHER | cut -d' ' -f1)\" = 0 ]" \
  || fail "the killed server's entries stay: $(count $OTHER)"
dt=$(($(now_ms) - t0))
# 3 failed probes 0.2 s apart, each round held up by at most one 0.5 s
# connect: about 2 s (one black-holed probe after another: 18 s and more)
[ "$dt" -lt 5000 ] || fail "the killed server's entries took $dt ms to go (black hole stalls the prober?)"
pass "a killed server's entries removed in $dt ms beside 12 black-holed entries"

[ "$(count $TEST_PROG)" = 4 ] || fail "live entries removed: $(count $TEST_PROG) of 4"
wait_for 10 sh -c "[ \"\$('$PEER' count $((BH_PROG + 1)) | cut -d' ' -f1)\" = 0 ]" \
  || fail "black-holed entries stay"
wait_for 3 sh -c "[ \"\$('$PEER' count 0 | cut -d' ' -f2)\" = $((6 + 4)) ]" \
  || fail "black-holed entries left: table $("$PEER" count 0)"
[ "$(count $TEST_PROG)" = 4 ] || fail "live entries removed: $(count $TEST_PROG) of 4"
grep -q "removing $((BH_PROG + 1))/1 tcp $BH_UADDR of superuser: its server does not answer (3 probes)" \
  "$TMP/fb.log" || fail "no log line for the black-holed entry's removal"
pass "black-holed entries removed after -F 3 probes; the live server's 4 entries stay"

stop_pid "$fb_PID"

# --- SIGTERM mid-probe: with -p 10 the black hole is probed nearly all the
# time (a 0.5 s connect every 10 ms); farbind stops within a second
start_farbind fb1 -a "unix:$TMP/fb1.sock" -p 10 -F 1000
export FARCALL_BINDER="unix:$TMP/fb1.sock"
for i in $(seq 12); do "$PEER" set $((BH_PROG + i)) 1 tcp "$BH_UADDR" >/dev/null; done
sleep 1.25 # rounds of 0.5 s from the first SET: the stop comes mid-connect
t0=$(now_ms)
kill -TERM "$fb1_PID"
for _ in $(seq 100); do kill -0 "$fb1_PID" 2>/dev/null || break; sleep 0.02; done
dt=$(($(now_ms) - t0))
kill -0 "$fb1_PID" 2>/dev/null && fail "farbind still running 2 s after SIGTERM"
grep -q "stopped" "$TMP/fb1.log" || fail "farbind did not stop cleanly"
[ "$dt" -lt 1200 ] || fail "SIGTERM took $dt ms"
pass "SIGTERM while probing the black hole: farbind stopped in $dt ms"

# --- the same with a server that accepts and never answers a call (a probe
# waiting for its reply is woken by the stop)
start_farbind fb2 -a "unix:$TMP/fb2.sock" -p 100 -F 100
export FARCALL_BINDER="unix:$TMP/fb2.sock"
"$PEER" set $((BH_PROG + 1)) 1 udp "$BH_UDP_UADDR" | grep -qx true || fail "SET of the silent udp socket"
sleep 0.3 # the probe's call (1 s) began within 0.1 s of the SET: 0.8 s or so to run
t0=$(now_ms)
kill -TERM "$fb2_PID"
for _ in $(seq 100); do kill -0 "$fb2_PID" 2>/dev/null || break; sleep 0.02; done
dt=$(($(now_ms) - t0))
kill -0 "$fb2_PID" 2>/dev/null && fail "farbind still running 2 s after SIGTERM"
[ "$dt" -lt 400 ] || fail "SIGTERM during a probe call took $dt ms"
pass "SIGTERM while a probe waits for a reply: stopped in $dt ms"

stop_pid "$live_PID"
pass "all done"
