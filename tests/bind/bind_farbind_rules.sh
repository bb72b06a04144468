#!/usr/bin/env bash
# farbind's command line and table rules, each against a farbind of its own on
# a Unix socket in a temp dir (and loopback TCP where a rule needs it):
# --help/--version, -v logging of SET and UNSET, a full table (farbind's own
# entries not counted), port 0, a registration that is not replaced,
# FARBIND_WHY (names program procedure 5) saying why a SET was refused, and
# names that go with their owner's last registration of the program.
source "$(dirname "$0")/common.sh"
P1=$((0x20000d01)); P2=$((0x20000d02)); P3=$((0x20000d03)); P4=$((0x20000d04))
asnobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

# --- --help and --version: exit 0, on stdout, nothing on stderr
out=$("$FARBIND" --help 2>"$TMP/err") || fail "farbind --help exited $?"
[ ! -s "$TMP/err" ] || fail "farbind --help wrote to stderr: $(cat "$TMP/err")"
echo "$out" | grep -q "^usage: farbind " || fail "farbind --help: no usage line: $out"
echo "$out" | grep -q -- "--version" || fail "farbind --help does not mention --version"
"$FARBIND" -h | grep -q "^usage: farbind " || fail "farbind -h"
out=$("$FARBIND" --version 2>"$TMP/err") || fail "farbind --version exited $?"
[ ! -s "$TMP/err" ] || fail "farbind --version wrote to stderr: $(cat "$TMP/err")"
echo "$out" | grep -Eqx "farbind \(farcall\) [0-9]+\.[0-9]+\.[0-9]+" || fail "farbind --version: $out"
rc=0; "$FARBIND" --no-such-option >/dev/null 2>"$TMP/err" || rc=$?
[ "$rc" = 2 ] || fail "an unknown option exited $rc, not 2"
grep -q -- "--help" "$TMP/err" || fail "an unknown option does not point at --help: $(cat "$TMP/err")"
pass "--help and --version exit 0 on stdout; an unknown option exits 2"

# --- -v logs SET and UNSET (the entries point where nothing listens: no probing)
start_farbind vlog -v -a "unix:$TMP/v.sock" -p 0
export FARCALL_BINDER="unix:$TMP/v.sock"
"$PEER" set $P1 1 tcp 127.0.0.1.1.1 | grep -qx true || fail "SET"
"$PEER" unset $P1 1 | grep -qx true || fail "UNSET"
"$PEER" unset $P1 1 | grep -qx false || fail "UNSET of nothing"
grep -q "SET $P1/1 tcp 127.0.0.1.1.1 by superuser.*: ok" "$TMP/vlog.log" || fail "-v: no SET line"
grep -q "UNSET $P1/1 tcp 127.0.0.1.1.1 of superuser, by superuser (unix: uid 0): removed" \
  "$TMP/vlog.log" || fail "-v: no UNSET line"
grep -q "UNSET $P1/1 (every transport) by superuser (unix: uid 0): nothing registered" \
  "$TMP/vlog.log" || fail "-v: no line for the UNSET that removed nothing"
stop_pid "$vlog_PID"
pass "-v logs SET, UNSET and an UNSET that removed nothing"

# --- UNSET with a universal address removes only the entry at that address
# (a server stopping removes its own entry, not a successor's); without one,
# any address, as rpcbind and rpcinfo -d
start_farbind unset -v -a "unix:$TMP/u.sock" -p 0
export FARCALL_BINDER="unix:$TMP/u.sock"
"$PEER" set $P1 1 tcp 127.0.0.1.1.1 | grep -qx true || fail "SET"
"$PEER" unset $P1 1 tcp 127.0.0.1.1.2 | grep -qx false || fail "UNSET with another address removed the entry"
[ "$(count $P1)" = 1 ] || fail "entry gone after an UNSET with another address"
grep -q "UNSET $P1/1 tcp 127.0.0.1.1.2 by superuser (unix: uid 0): nothing registered" "$TMP/unset.log" \
  || fail "-v: no line for the UNSET with another address"
"$PEER" unset $P1 1 tcp 127.0.0.1.1.1 | grep -qx true || fail "UNSET with the entry's address"
"$PEER" set $P1 1 tcp 127.0.0.1.1.1 | grep -qx true || fail "SET again"
"$PEER" unset $P1 1 tcp | grep -qx true || fail "UNSET without an address"
[ "$(count $P1)" = 0 ] || fail "entry stays"
stop_pid "$unset_PID"
pass "UNSET with an address removes only the entry at that address; without one, any"

# --- a full table: -m 3 with farbind's own 9 entries (3 versions x tcp, udp,
# unix) not counted; the 4th SET is refused and logged with the caller and -m
start_farbind full -a tcp://127.0.0.1:0 -a udp://127.0.0.1:0 -a "unix:$TMP/full.sock" -m 3 -p 0
export FARCALL_BINDER="unix:$TMP/full.sock"
[ "$(count 100000)" = 9 ] || fail "farbind's own entries: $(count 100000), not 9"
for p in $P1 $P2 $P3; do "$PEER" set $p 1 tcp 127.0.0.1.1.1 | grep -qx true || fail "SET $p with -m 3"; done
"$PEER" set $P4 1 tcp 127.0.0.1.1.1 | grep -qx false || fail "a 4th SET accepted with -m 3"
asnobody "$PEER" set $P4 1 local "$TMP/x.sock" | grep -qx false || fail "a 4th SET (uid 65534) accepted"
FARCALL_BINDER=$(bound_addr full tcp) "$PEER" set $P4 1 udp 127.0.0.1.1.1 | grep -qx false \
  || fail "a 4th SET over tcp accepted"
[ "$("$PEER" count 0 | awk '{print $2}')" = 12 ] || fail "table: $("$PEER" count 0), not 9 + 3"
grep -q "SET $P4/1 tcp 127.0.0.1.1.1 by superuser (unix: uid 0) refused: the table is full (-m 3 registrations; farbind's own not counted)" \
  "$TMP/full.log" || fail "no log line for the full table (root)"
grep -q "SET $P4/1 local $TMP/x.sock by 65534 (unix: uid 65534) refused: the table is full (-m 3" \
  "$TMP/full.log" || fail "no log line for the full table (uid 65534)"
grep -Eq "SET $P4/1 udp 127.0.0.1.1.1 by unknown \(tcp://127.0.0.1:[0-9]+\) refused: the table is full" \
  "$TMP/full.log" || fail "no log line for the full table (loopback tcp)"
"$PEER" why $P4 1 tcp 127.0.0.1.1.1 | grep -qx "FULL limit=3 holder=- fails=0" \
  || fail "WHY in a full table: $("$PEER" why $P4 1 tcp 127.0.0.1.1.1)"
"$PEER" unset $P1 1 | grep -qx true || fail "UNSET in a full table"
"$PEER" set $P4 1 tcp 127.0.0.1.1.1 | grep -qx true || fail "SET after an UNSET made room"
stop_pid "$full_PID"
pass "-m 3: 3 SETs accepted beside farbind's 9 own entries, the 4th refused and logged (caller, -m)"

# --- port 0: refused by rpcbind v3 and v4 SET as by portmapper v2 SET
start_farbind port0 -a "unix:$TMP/p0.sock" -p 0
export FARCALL_BINDER="unix:$TMP/p0.sock"
for v in 3 4; do
  "$PEER" set $P1 1 tcp 127.0.0.1.0.0 $v | grep -qx false || fail "rpcbind v$v SET of tcp port 0 accepted"
  "$PEER" set $P1 1 udp 0.0.0.0.0.0 $v | grep -qx false || fail "rpcbind v$v SET of udp port 0 accepted"
  "$PEER" set $P1 1 tcp6 ::1.0.0 $v | grep -qx false || fail "rpcbind v$v SET of tcp6 port 0 accepted"
done
"$PEER" pmap-set $P1 1 tcp 0 | grep -qx false || fail "portmapper SET of port 0 accepted"
"$PEER" pmap-set $P1 1 tcp 65536 | grep -qx false || fail "portmapper SET of port 65536 accepted"
[ "$(count $P1)" = 0 ] || fail "port 0 registered: $(count $P1)"
[ "$(grep -c "SET $P1/1 .* refused: port 0" "$TMP/port0.log")" = 7 ] || fail "port-0 refusals not logged"
"$PEER" why $P1 1 tcp 127.0.0.1.0.0 | grep -q "^PORT_ZERO " || fail "WHY of port 0"
"$PEER" why $P1 1 tcp 127.0.0.1.0 | grep -q "^BAD_ADDR " || fail "WHY of a malformed address"
"$PEER" why $P1 1 sctp 127.0.0.1.0.1 | grep -q "^BAD_ADDR " || fail "WHY of an unknown netid"
"$PEER" why 100000 1 tcp 127.0.0.1.0.1 | grep -q "^RESERVED " || fail "WHY of program 100000"
"$PEER" why $P1 1 tcp 127.0.0.1.0.1 | grep -qx "OK limit=1024 holder=- fails=0" || fail "WHY of a free entry"
[ "$(count $P1)" = 0 ] || fail "WHY registered something"
"$PEER" set $P1 1 tcp 127.0.0.1.0.1 3 | grep -qx true || fail "v3 SET of port 1"
"$PEER" pmap-set $P1 2 udp 1 | grep -qx true || fail "portmapper SET of port 1"
"$PEER" set $P1 3 local "$TMP/s.sock" 4 | grep -qx true || fail "v4 SET of a Unix socket (no port)"
stop_pid "$port0_PID"
pass "port 0 refused by rpcbind v3/v4 SET (tcp, udp, tcp6) and portmapper SET, and logged"

# --- a live registration is not replaced: SET of a registered prog/vers/netid
# fails, by another owner and by the same one, while its server answers probes
start_farbind live -a "unix:$TMP/live.sock" -a tcp://127.0.0.1:0 -p 100 -F 5
export FARCALL_BINDER="unix:$TMP/live.sock"
start_peer srv tcp://127.0.0.1:0
before=$("$PEER" call "$TEST_PROG/2/tcp" 2) || fail "the live server: $before"
asnobody "$PEER" set $TEST_PROG 2 tcp 127.0.0.1.1.2 | grep -qx false || fail "uid 65534 replaced a live entry"
"$PEER" set $TEST_PROG 2 tcp 127.0.0.1.1.2 | grep -qx false || fail "root replaced a live entry"
FARCALL_BINDER=$(bound_addr live tcp) "$PEER" set $TEST_PROG 2 tcp 127.0.0.1.1.2 | grep -qx false \
  || fail "a loopback caller replaced a live entry"
sleep 0.5 # several probes: the entry stays, and is still the server's
[ "$("$PEER" call "$TEST_PROG/2/tcp" 2)" = "$before" ] || fail "the live entry changed"
grep -Eq "SET $TEST_PROG/2 tcp 127.0.0.1.1.2 by 65534 \(unix: uid 65534\) refused: registered already by superuser at 127\.0\.0\.1\.[0-9.]+\$" \
  "$TMP/live.log" || fail "no log line naming the holder"
out=$(asnobody "$PEER" why $TEST_PROG 2 tcp 127.0.0.1.1.2)
echo "$out" | grep -Eqx "TAKEN limit=1024 holder=superuser@127\.0\.0\.1\.[0-9.]+ fails=0" \
  || fail "WHY of a live entry: $out"
"$PEER" set $P1 1 tcp 127.0.0.1.1.1 | grep -qx true || fail "SET"
asnobody "$PEER" set $P1 1 tcp 127.0.0.1.1.1 | grep -qx false || fail "the same address by another owner"
wait_for 5 sh -c "'$PEER' why $P1 1 tcp 127.0.0.1.1.1 | grep -Eqx 'TAKEN limit=1024 holder=superuser@127.0.0.1.1.1 fails=[1-4]'" \
  || fail "WHY does not show the failed probe: $("$PEER" why $P1 1 tcp 127.0.0.1.1.1)"
# nothing listens there: the entry fails its probes and is removed
wait_for 10 sh -c "[ \"\$('$PEER' count $P1 | cut -d' ' -f1)\" = 0 ]" || fail "the dead entry stays"
asnobody "$PEER" set $P1 1 tcp 127.0.0.1.1.1 | grep -qx true || fail "SET once the dead entry was removed"
stop_pid "$srv_PID"
stop_pid "$live_PID"
pass "a registered prog/vers/netid is not replaced (other owner, same owner, loopback), refusal names the holder"

# --- WHY from a caller that may not SET (-S: loopback TCP is not local)
start_farbind strict -S -a tcp://127.0.0.1:0 -a "unix:$TMP/strict.sock" -p 0
FARCALL_BINDER=$(bound_addr strict tcp) "$PEER" why $P1 1 tcp 127.0.0.1.1.1 | grep -q "^NOT_LOCAL " \
  || fail "WHY over tcp with -S"
FARCALL_BINDER="unix:$TMP/strict.sock" "$PEER" why $P1 1 tcp 127.0.0.1.1.1 | grep -q "^OK " \
  || fail "WHY over the Unix socket with -S"
grep -q "refused:" "$TMP/strict.log" && fail "WHY logged a refusal"
stop_pid "$strict_PID"
pass "FARBIND_WHY answers FULL, PORT_ZERO, BAD_ADDR, RESERVED, TAKEN (holder, failed probes), NOT_LOCAL, OK"

# --- names go with their server.  name_is NAME PROG / name_gone NAME
name_is() { "$PEER" name lookup "$1" | grep -qx "$2"; }
name_gone() { ! "$PEER" name lookup "$1" | grep -Eqx '[0-9]+'; }
OTHER=$((0x20000bb3)) # bind_peer serve-other
start_farbind names -a "unix:$TMP/names.sock" -p 100 -F 2 -w "$TMP/names.state"
export FARCALL_BINDER="unix:$TMP/names.sock"
start_peer srv tcp://127.0.0.1:0 udp://127.0.0.1:0
"$PEER" name set testsvc $TEST_PROG | grep -qx ok || fail "name set testsvc"
asnobody "$PEER" name set nobodysvc $TEST_PROG | grep -qx ok || fail "name set by uid 65534"
"$PEER" name set unrelated $P1 | grep -qx ok || fail "name set unrelated"
"$PEER" unset $TEST_PROG 2 tcp | grep -qx true || fail "UNSET of one of the server's entries"
name_is testsvc $TEST_PROG || fail "name gone while its server still has registrations"
stop_pid "$srv_PID" # unregisters the rest
[ "$(count $TEST_PROG)" = 0 ] || fail "server still registered: $(count $TEST_PROG)"
name_gone testsvc || fail "the name stays after its server unregistered"
name_is nobodysvc $TEST_PROG || fail "another owner's name for the program went too"
name_is unrelated $P1 || fail "a name for another program went"
grep -q "removing name testsvc (program $TEST_PROG) of superuser: its last registration of the program was unset" \
  "$TMP/names.log" || fail "no log line for the name's removal"
grep -q "^name testsvc " "$TMP/names.state" && fail "the removed name stays in the warm-start file"
pass "a clean stop (UNSET) removes the server's names; another owner's names and other programs' stay"

start_peer victim other tcp://127.0.0.1:0 udp://127.0.0.1:0
"$PEER" name set victimsvc $OTHER | grep -qx ok || fail "name set victimsvc"
kill -9 "$victim_PID"
wait_for 10 sh -c "[ \"\$('$PEER' count $OTHER | cut -d' ' -f1)\" = 0 ]" || fail "the killed server's entries stay"
name_gone victimsvc || fail "the name stays after the prober removed its server"
grep -q "removing name victimsvc (program $OTHER) of superuser: the prober removed its last registration" \
  "$TMP/names.log" || fail "no log line for the prober's name removal"
pass "a killed server's name goes when the prober removes its last registration"

stop_pid "$names_PID"

# root's UNSET of uid 65534's entries removes uid 65534's names (the owner's
# last registration went), not root's; no probing: nothing listens there
start_farbind names2 -a "unix:$TMP/names2.sock" -p 0
export FARCALL_BINDER="unix:$TMP/names2.sock"
"$PEER" name set rootsvc $P2 | grep -qx ok || fail "name set rootsvc"
asnobody "$PEER" set $P2 1 local "$TMP/p2.sock" | grep -qx true || fail "SET P2 by uid 65534"
asnobody "$PEER" name set p2svc $P2 | grep -qx ok || fail "name set p2svc"
"$PEER" unset $P2 1 | grep -qx true || fail "root's UNSET"
name_gone p2svc || fail "uid 65534's name stays after root unset its last registration"
name_is rootsvc $P2 || fail "root's name went with uid 65534's registration"
stop_pid "$names2_PID"
pass "the names of the entry's owner go, not the caller's"

pass "all done"
