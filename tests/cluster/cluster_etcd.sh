#!/usr/bin/env bash
# Cluster naming on etcd, with real processes (docs/cluster.md): a three-
# member etcd cluster on loopback; three farcall servers (publishing
# themselves) and three rpcgen + libtirpc servers (published by `far
# publish`) behind one name; balanced clients on CLUSTER_PROG/1@etcd:NAME.
#   1. 10,000 idempotent calls while one farcall server is kill -9'd and
#      another restarted: 0 failed; the dead one's key gone within TTL + 1 s;
#      it has no call later than 1 s after its kill; the restarted one's new
#      address found and used without reopening the client.
#   2. one etcd member killed: calls go on (0 failed), and a server started
#      meanwhile is published and found.
#   3. every etcd member down longer than the TTL, then back: calls go on
#      through the outage (0 failed), every registration is there within two
#      keep-alive periods of etcd answering again, also that of a server
#      started during the outage.
#   4. a lease etcd lost (revoked under the server): granted again and the
#      key put again within two keep-alive periods.
#   5. far info etcd:NAME lists the cluster.
. "$(dirname "$0")/common.sh"
TTL=3
PERIOD_MS=1000 # TTL / 3
export FARCALL_BINDER=none FARCALL_ETCD_TTL=$TTL FARCALL_CLUSTER=t$$
etcd_ports
export FARCALL_ETCD=$EPS
for i in 1 2 3; do etcd_member $i; done
wait_for 20 etcd_quorum || fail "etcd did not start"
pass "a three-member etcd cluster on 127.0.0.1:$C1,$C2,$C3"

SPEC=$PROG/1@etcd:$FARCALL_CLUSTER
for i in 1 2 3; do start s$i "$SRV" $i 0; done
for i in 1 2 3; do
  start t$i "$TIRPC" $((10 + i))
  eval "a=\$t${i}_ADDR"
  start p$i "$FAR" publish --ttl $TTL "$PROG/1" "$a"
done
wait_for 5 bash -c "[ \$(etcdctl --endpoints=$EPS get --prefix --keys-only /farcall/v1/$FARCALL_CLUSTER/ | grep -c .) -eq 6 ]" ||
  fail "not six registrations: $(keys)"
pass "three farcall and three libtirpc servers registered: $(keys | wc -l) keys"

"$FAR" info "etcd:$FARCALL_CLUSTER" >"$TMP/info.out" 2>&1 || fail "far info etcd: $(cat "$TMP/info.out")"
[ "$(grep -c "^ *$PROGD  *1 tcp" "$TMP/info.out")" -eq 6 ] || fail "far info: $(cat "$TMP/info.out")"
grep -q CLUSTER_PROG "$TMP/info.out" || fail "far info shows no name: $(cat "$TMP/info.out")"
pass "far info etcd:$FARCALL_CLUSTER lists the six"
"$CLIENT" wait "CLUSTER_PROG/1@etcd:$FARCALL_CLUSTER" 6 5000 >"$TMP/byname.out" 2>&1 ||
  fail "by name: $(cat "$TMP/byname.out")"
pass "CLUSTER_PROG/1@etcd:$FARCALL_CLUSTER (the .x name): six healthy instances"

# ---- 1. kill -9 one, restart another, during 10,000 calls
FARCALL_LOG=${CLIENT_LOG:-warning} "$CLIENT" calls "$SPEC" 10000 2 1500 6 "$TMP/progress" "$TMP/dead" >"$TMP/client1.log" 2>&1 &
CL=$!
PIDS+=("$CL")
progress() { [ -f "$TMP/progress" ] && [ "$(cat "$TMP/progress" 2>/dev/null || echo 0)" -ge "$1" ]; }
wait_for 30 progress 2500 || fail "the client made no calls"
echo "$s1_ADDR" >"$TMP/dead"
kill -9 "$s1_PID"
t_kill=$(now_ms)
kill -USR1 "$CL"
wait_for 10 bash -c "! etcdctl --endpoints=$EPS get --prefix --keys-only /farcall/v1/$FARCALL_CLUSTER/ | grep -q '/$(uaddr_of "$s1_ADDR")\$'" ||
  fail "the killed server's key is still there"
gone=$(($(now_ms) - t_kill))
[ "$gone" -le $((TTL * 1000 + 1000)) ] || fail "the killed server's key went after $gone ms (TTL + 1 s: $((TTL * 1000 + 1000)))"
pass "kill -9 of $s1_ADDR: its key gone after $gone ms (TTL $TTL s)"
wait_for 30 progress 5000 || fail "the client stopped"
old2=$s2_ADDR
kill -TERM "$s2_PID"
wait "$s2_PID" || fail "s2 did not stop cleanly"
start s2 "$SRV" 2 0
pass "restarted s2: $old2 -> $s2_ADDR"
for _ in $(seq 600); do kill -0 "$CL" 2>/dev/null || break; sleep 0.1; done
wait "$CL" || fail "client: $(tail -25 "$TMP/client1.log")"
cat "$TMP/client1.log"
grep -q "10000 calls, 0 failed" "$TMP/client1.log" || fail "calls failed"
grep -q "^ok: $s1_ADDR had no call later" "$TMP/client1.log" || fail "the dead one had calls"
grep -E "^  $s2_ADDR .* calls +[1-9]" "$TMP/client1.log" >/dev/null ||
  fail "the restarted server's new address had no call"
pass "10,000 idempotent calls, 0 failed; the restarted server used at its new address"

# ---- 2. one etcd member killed
rm -f "$TMP/progress"
"$CLIENT" calls "$SPEC" 8000 2 1500 5 "$TMP/progress" - >"$TMP/client2.log" 2>&1 &
CL=$!
PIDS+=("$CL")
wait_for 30 progress 500 || fail "the client made no calls"
kill -9 "$ETCD1_PID"
wait "$ETCD1_PID" 2>/dev/null || true
start s4 "$SRV" 4 0
wait_for 5 has_key "$s4_ADDR" || fail "s4 not published with a member down"
# (the client must still be calling, with time left to find s4)
progress 6000 && fail "the client was nearly done before s4 was published: make it longer"
for _ in $(seq 600); do kill -0 "$CL" 2>/dev/null || break; sleep 0.1; done
wait "$CL" || fail "client: $(tail -25 "$TMP/client2.log")"
grep -q "8000 calls, 0 failed" "$TMP/client2.log" || fail "calls failed"
grep -E "^  $s4_ADDR .* calls +[1-9]" "$TMP/client2.log" >/dev/null ||
  fail "s4, started with a member down, had no call: $(cat "$TMP/client2.log")"
pass "etcd member 1 killed: 8000 calls, 0 failed; s4 published and found meanwhile"
etcd_member 1
wait_for 20 etcd_healthy || fail "member 1 did not come back"

# ---- 3. all of etcd down past the TTL, then back
rm -f "$TMP/progress"
"$CLIENT" calls "$SPEC" 9000 2 1500 6 "$TMP/progress" - >"$TMP/client3.log" 2>&1 &
CL=$!
PIDS+=("$CL")
wait_for 30 progress 300 || fail "the client made no calls"
before=$(keys | sort)
kill -9 "$ETCD1_PID" "$ETCD2_PID" "$ETCD3_PID"
wait "$ETCD1_PID" "$ETCD2_PID" "$ETCD3_PID" 2>/dev/null || true
# a server started while etcd is down is published once it is back
start s5 "$SRV" 5 0
sleep $((TTL + 1))
kill -0 "$CL" || fail "the client ended during the outage"
for i in 1 2 3; do etcd_member $i; done
wait_for 30 etcd_quorum || fail "etcd did not come back"
t_up=$(now_ms)
want=$( (echo "$before"; echo "/farcall/v1/$FARCALL_CLUSTER/prog/$PROGD/1/tcp/$(uaddr_of "$s5_ADDR")") | sort)
restored() { [ "$(keys | sort)" = "$want" ]; }
wait_for 10 restored || fail "registrations not restored: $(keys) (want: $want)"
back=$(($(now_ms) - t_up))
# (the time is reported, not asserted: a loaded machine stretches it; the
# bound is wait_for's)
pass "etcd down for over $((TTL + 1)) s (TTL $TTL): all $(echo "$before" | wc -l) registrations, and s5's (started meanwhile), there $back ms after it answered (a keep-alive: $PERIOD_MS ms)"
for _ in $(seq 600); do kill -0 "$CL" 2>/dev/null || break; sleep 0.1; done
wait "$CL" || fail "client: $(tail -25 "$TMP/client3.log")"
grep -q "9000 calls, 0 failed" "$TMP/client3.log" || fail "calls failed"
pass "9000 calls through the outage, 0 failed"

# ---- 4. a lease etcd lost
lease_of() {
  etcdctl --endpoints="$EPS" get --prefix "/farcall/v1/$FARCALL_CLUSTER/" -w json |
    python3 -c '
import json, sys, base64
d = json.load(sys.stdin)
want = sys.argv[1]
for kv in d.get("kvs", []):
    if base64.b64decode(kv["key"]).decode().endswith("/" + want):
        print("%x" % kv["lease"])' "$(uaddr_of "$1")"
}
lease=$(lease_of "$s3_ADDR")
[ -n "$lease" ] || fail "no lease for s3"
etcdctl --endpoints="$EPS" lease revoke "$lease" >/dev/null || fail "lease revoke"
t_rev=$(now_ms)
# Revoking a lease deletes its keys at once; the publisher may notice and
# put s3's key again before the next look, so the proof is the key under a
# new lease, not a moment with no key.
new_lease() { l=$(lease_of "$s3_ADDR"); [ -n "$l" ] && [ "$l" != "$lease" ]; }
wait_for 10 new_lease || fail "s3's key not put again under a new lease (revoked: $lease, now: $(lease_of "$s3_ADDR"))"
back=$(($(now_ms) - t_rev))
pass "s3's lease $lease revoked: lease $(lease_of "$s3_ADDR") granted and its key put again after $back ms (a keep-alive: $PERIOD_MS ms; reported, not asserted)"

# ---- a graceful stop takes the keys at once
kill -TERM "$s4_PID"
wait "$s4_PID" || fail "s4 did not stop cleanly"
has_key "$s4_ADDR" && fail "s4 stopped, its key is still there"
kill -TERM "$p1_PID"
wait "$p1_PID" || fail "far publish did not stop cleanly"
has_key "$t1_ADDR" && fail "far publish stopped, t1's key is still there"
pass "a stopped server's and a stopped publisher's keys go at once"
no_sanitizer_reports
echo "all cluster_etcd checks passed"
