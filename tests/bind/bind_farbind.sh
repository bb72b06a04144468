#!/usr/bin/env bash
# farbind on unprivileged loopback addresses and a Unix socket in a temp dir:
# registration by a farcall server on every transport, lookup, dynamic
# addresses, names, far info/ping errors, owner rules, strict mode, stale
# entries, warm start, a registration flood and hostile input.
source "$(dirname "$0")/common.sh"

start_farbind fb -a tcp://127.0.0.1:0 -a udp://127.0.0.1:0 -a tcp://[::1]:0 \
  -a "unix:$TMP/fb.sock" -p 200 -F 2 -w "$TMP/state" -m 200
export FARCALL_BINDER="unix:$TMP/fb.sock"
TCP=$(bound_addr fb tcp); UDP=$(bound_addr fb udp)
[ -n "$TCP" ] && [ -n "$UDP" ] || fail "no bound addresses in the log"

# --- a farcall server registers every version on every transport
start_peer srv tcp://127.0.0.1:0 udp://127.0.0.1:0 "tcp://[::1]:0" "unix:$TMP/srv.sock"
[ "$(count $TEST_PROG)" = 8 ] || fail "expected 8 registrations (2 versions x 4 transports), got $(count $TEST_PROG)"
pass "server registered 2 versions x tcp, udp, tcp6, local"
info=$("$FAR" info)
echo "$info" | grep -q "$TEST_PROG    2 tcp6" || fail "far info lacks the tcp6 entry: $info"
echo "$info" | grep -Eq "^ *$TEST_PROG 2,3 +local,tcp,tcp6,udp" || fail "far info summary wrong: $info"
pass "far info lists the table and the summary"

# --- dynamic addresses, each transport
for spec in "$TEST_PROG/2" "$TEST_PROG/3/udp" "$TEST_PROG/2/tcp6" "$TEST_PROG/3/unix" \
            "$TEST_PROG/2@unix:$TMP/fb.sock" "$TEST_PROG/2/udp@$TCP"; do
  out=$("$PEER" call "$spec" 2) || fail "call $spec: $out"
done
"$PEER" add1 "$TEST_PROG/3/udp" 3 41 | grep -qx "ok 42" || fail "add1 over udp via the binder"
pass "clients resolve PROG/VERS[/NETID][@WHERE] over tcp, udp, tcp6, unix"

# --- far ping and its errors
"$FAR" ping localhost $TEST_PROG 2 | grep -q "ready, rtt" || fail "far ping"
"$FAR" ping localhost $TEST_PROG 3 unix | grep -q "at unix:$TMP/srv.sock" || fail "far ping unix"
"$FAR" ping localhost portmapper 4 udp | grep -q "ready" || fail "far ping by /etc/rpc name"
out=$("$FAR" ping localhost $TEST_PROG 7 2>&1) && fail "ping of version 7 succeeded"
echo "$out" | grep -q "version mismatch (server has 2–3)" || fail "version mismatch message: $out"
out=$("$FAR" ping localhost $((TEST_PROG + 100)) 1 2>&1) && fail "ping of an unregistered program succeeded"
echo "$out" | grep -q "not registered" || fail "not registered message: $out"
out=$(FARCALL_BINDER="unix:$TMP/nothing.sock" "$FAR" ping localhost $TEST_PROG 2 2>&1) && fail "ping without binder"
echo "$out" | grep -q "no binder" || fail "no binder message: $out"
out=$(FARCALL_BINDER="unix:$TMP/nothing.sock" "$FAR" info 2>&1) && fail "info without binder"
echo "$out" | grep -q "no binder" || fail "far info: no binder message: $out"
pass "far ping: rtt, version mismatch (server has 2–3), not registered, no binder"

# --- names: register, lookup, call by name, update, unregister
"$PEER" name set testsvc $TEST_PROG | grep -qx ok || fail "name set"
"$PEER" name lookup testsvc | grep -qx "$TEST_PROG" || fail "name lookup"
"$PEER" call "testsvc/2" 2 | grep -q "^ok" || fail "call by registered name"
"$PEER" name set testsvc 12345 | grep -qx ok || fail "name update"
"$PEER" name lookup testsvc | grep -qx 12345 || fail "name lookup after update"
setpriv --reuid=65534 --regid=65534 --clear-groups "$PEER" name unset testsvc | grep -qx FAR_EAUTH \
  || fail "another uid removed root's name"
"$PEER" name unset testsvc | grep -qx ok || fail "name unset"
"$PEER" name lookup testsvc | grep -qx FAR_ENOTREG || fail "lookup after unset"
"$FAR" info | grep -Eq "^ +testsvc " && fail "far info shows the name after unset"
pass "names: set, lookup, call by name, update, owner check, unset"

# --- owner rules over the Unix socket (SO_PEERCRED).  A farbind of its own with
# probing off: the entries below point at addresses where nothing listens, and
# fb's 200 ms probe could remove them mid-check (it did, under ASan).
start_farbind own -a "unix:$TMP/own.sock" -p 0
FB_BINDER=$FARCALL_BINDER
export FARCALL_BINDER="unix:$TMP/own.sock"
asnobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
asother() { setpriv --reuid=65533 --regid=65533 --clear-groups "$@"; }
P1=$((0x20000c01)); P2=$((0x20000c02))
"$PEER" set $P1 1 tcp 127.0.0.1.1.1 | grep -qx true || fail "root SET"
asnobody "$PEER" set $P2 1 tcp 127.0.0.1.1.2 | grep -qx true || fail "nobody SET"
"$FAR" info | grep -E "^ *$P2 +1 tcp .* 65534$" >/dev/null || fail "owner of nobody's entry is not 65534"
asnobody "$PEER" unset $P1 1 | grep -qx false || fail "nobody removed root's entry"
asother "$PEER" unset $P2 1 | grep -qx false || fail "uid 65533 removed nobody's entry"
[ "$(count $P1)" = 1 ] && [ "$(count $P2)" = 1 ] || fail "entries gone after refused UNSETs"
asnobody "$PEER" unset $P2 1 | grep -qx true || fail "owner could not unset"
asnobody "$PEER" set $P2 1 tcp 127.0.0.1.1.2 | grep -qx true || fail "nobody SET again"
"$PEER" unset $P2 1 | grep -qx true || fail "root could not unset nobody's entry"
"$PEER" unset $P1 1 | grep -qx true || fail "root unset"
"$PEER" set 100000 2 tcp 127.0.0.1.1.1 | grep -qx false || fail "SET of the binder's own program"
"$PEER" set $P1 1 tcp "127.0.0.1.1.1;rm" | grep -qx false || fail "SET of a malformed address"
stop_pid "$own_PID"
export FARCALL_BINDER=$FB_BINDER
pass "owner rules: only the owner or root may unset; root/uid owners from SO_PEERCRED"

# --- strict mode: loopback TCP is not local; SET gets FALSE (the protocol's refusal)
start_farbind strict -S -a tcp://127.0.0.1:0 -a "unix:$TMP/strict.sock" -p 0
STCP=$(bound_addr strict tcp)
FARCALL_BINDER=$STCP "$PEER" set $P1 1 tcp 127.0.0.1.1.1 | grep -qx false || fail "non-local SET accepted"
FARCALL_BINDER="unix:$TMP/strict.sock" "$PEER" set $P1 1 tcp 127.0.0.1.1.1 | grep -qx true || fail "unix SET in strict mode"
FARCALL_BINDER=$STCP "$PEER" unset $P1 1 | grep -qx false || fail "non-local UNSET accepted"
stop_pid "$strict_PID"
pass "a caller that is not local gets FALSE for SET and UNSET"

# --- stale entries: a server killed without unregistering is removed by the probe
start_peer victim other tcp://127.0.0.1:0 udp://127.0.0.1:0
[ "$(count $((0x20000bb3)))" = 2 ] || fail "victim not registered: $(count $((0x20000bb3)))"
kill -9 "$victim_PID"
wait_for 10 sh -c "[ \"\$('$PEER' count $((0x20000bb3)) | cut -d' ' -f1)\" = 0 ]" \
  || fail "stale entries of a killed server still there: $(count $((0x20000bb3)))"
pass "entries of a killed server are removed by the procedure-0 probe"

# --- a clean stop unregisters at once
start_peer srv2 "unix:$TMP/srv2.sock"
stop_pid "$srv2_PID"
# srv still holds TEST_PROG on 4 transports; srv2's local entries are gone
"$FAR" info | grep -q "srv2.sock" && fail "stopped server still registered"
pass "a stopped server unregisters"

# --- warm start: registrations survive a farbind restart (state file)
before=$(count $TEST_PROG)
stop_pid "$fb_PID"
grep -q "^reg $TEST_PROG 2" "$TMP/state" || fail "state file lacks the registrations"
start_farbind fb -a tcp://127.0.0.1:0 -a udp://127.0.0.1:0 -a "unix:$TMP/fb.sock" -p 200 -F 2 -w "$TMP/state" -m 200
[ "$(count $TEST_PROG)" = "$before" ] || fail "warm start: $(count $TEST_PROG) entries, expected $before"
"$PEER" call "$TEST_PROG/2" 2 | grep -q "^ok" || fail "lookup after warm start"
sleep 1 # a few probes: live entries stay
[ "$(count $TEST_PROG)" = "$before" ] || fail "live entries removed after warm start"
pass "warm start keeps registrations; live ones survive the probe"
TCP=$(bound_addr fb tcp); UDP=$(bound_addr fb udp)

# --- a registration flood is bounded by -m; valid clients still served
start_farbind flood -a tcp://127.0.0.1:0 -a "unix:$TMP/flood.sock" -m 50 -p 0
rss0=$(rss_kb "$flood_PID")
accepted=$(FARCALL_BINDER="unix:$TMP/flood.sock" "$PEER" flood $((0x30000000)) 1500)
total=$(FARCALL_BINDER="unix:$TMP/flood.sock" "$PEER" count 0 | awk '{print $2}')
# farbind's own 6 entries (3 versions x tcp, unix) do not count against -m
[ "$accepted" = 50 ] || fail "flood: $accepted registrations accepted with -m 50"
[ "$total" = $((50 + 6)) ] || fail "table holds $total entries"
n=$(grep -c "refused: the table is full" "$TMP/flood.log")
[ "$n" -ge 1 ] && [ "$n" -le 100 ] || fail "flood: $n refusals logged (expected 1..100: at most 20 a second)"
FARCALL_BINDER="unix:$TMP/flood.sock" "$FAR" ping localhost 100000 4 | grep -q ready || fail "flood binder stopped answering"
rss1=$(rss_kb "$flood_PID")
[ $((rss1 - rss0)) -lt 16384 ] || fail "flood: farbind grew from ${rss0} to ${rss1} kB"
stop_pid "$flood_PID"
pass "flood of 1500 SETs: $accepted accepted (-m 50, farbind's own not counted), $n refusals logged, RSS ${rss0} -> ${rss1} kB"

# --- hostile input: rpcbomb lengths, oversized strings and records, garbage
rss0=$(rss_kb "$fb_PID")
"$PEER" hostile "$TCP" "$UDP" || fail "hostile input"
kill -0 "$fb_PID" || fail "farbind died"
"$FAR" ping localhost $TEST_PROG 2 | grep -q ready || fail "valid client after hostile input"
rss1=$(rss_kb "$fb_PID")
[ $((rss1 - rss0)) -lt 65536 ] || fail "farbind grew from ${rss0} to ${rss1} kB"
pass "hostile input refused; farbind up, RSS ${rss0} -> ${rss1} kB"

stop_pid "$srv_PID"
[ "$(count $TEST_PROG)" = 0 ] || fail "server did not unregister on stop"
pass "all done"
