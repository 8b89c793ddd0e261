#!/usr/bin/env bash
# timeout: 90
#
# Segments received per remote address, and retransmits, against a ground
# truth that does not come from the kernel's own counters: the delay lines
# between the test's namespaces (tests/lib/delayline.c) count every TCP
# segment they carry each way, those with payload, and the retransmissions
# they see on the wire. No netem here: the second link loses every 3rd data
# segment from the client, two in all.
#
# A client in NS talks to two echo servers, each in its own peer namespace
# (remote address P1 over a clean link, P2 over the lossy one): ping-pong
# rounds of S bytes, each round waiting for its echo (TCP_NODELAY), so that
# every round is one data segment each way and nothing is coalesced.
# Expected, per (process, remote address):
#   - segments received (all, and with payload) = what the link delivered to
#     that side; with payload, on the client, = the rounds (plus the
#     retransmissions the server sent);
#   - retransmits = the retransmissions seen on the wire (>= the 2 lost on
#     the lossy link);
#   - payload bytes exact despite the loss.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"
. "$TESTS_LIB/tcp.sh"

W=12 S=100 K=2
nt_netns_create
NS=$NT_NS
nt_netns_peer "$NS" 0
P1NS=$NT_PEER_NS P1=$NT_PEER_ADDR L1=$NT_LOCAL_ADDR DL1=$NT_DELAYLINE_PID ST1=$NT_DELAYLINE_STATS
nt_netns_peer "$NS" 0 ab:3:2
P2NS=$NT_PEER_NS P2=$NT_PEER_ADDR L2=$NT_LOCAL_ADDR DL2=$NT_DELAYLINE_PID ST2=$NT_DELAYLINE_STATS

out=$TEST_TMP/nodetap.jsonl
nt_tcp_start "$out"
bg ip netns exec "$P1NS" "$NODE" "$TESTS_LIB/tcp-peer.js" server --listen "$P1:7000" --mode echo --ready "$TEST_TMP/r1"
SV1=$BG_PID
bg ip netns exec "$P2NS" "$NODE" "$TESTS_LIB/tcp-peer.js" server --listen "$P2:7000" --mode echo --ready "$TEST_TMP/r2"
SV2=$BG_PID
wait_for 10 "echo servers" test -s "$TEST_TMP/r1" -a -s "$TEST_TMP/r2"

for p in "$P1" "$P2"; do
	ip netns exec "$NS" "$NODE" "$TESTS_LIB/tcp-peer.js" client --connect "$p:7000" --mode pingpong \
		--rounds $W --size $S --conns $K --out "$TEST_TMP/client-$p.json" || fail "client to $p failed"
done
nt_tcp_wait_closed "$NS"
nt_tcp_wait_closed "$P1NS"
nt_tcp_wait_closed "$P2NS"
nt_delayline_stats "$DL1" "$ST1"
nt_delayline_stats "$DL2" "$ST2"
nt_tcp_stop
C1=$(jqv "$TEST_TMP/client-$P1.json" .pid) C2=$(jqv "$TEST_TMP/client-$P2.json" .pid)
log "link 1: $(cat "$ST1")"
log "link 2: $(cat "$ST2")"

# summary PID RADDR FIELD
summary() {
	jq -s --argjson p "$1" --arg a "$2" --arg f "$3" \
		'[.[] | select(.type=="tcp_summary" and .pid==$p and .remote_addr==$a)] |
		 if length == 1 then .[0][$f] else "\(length) summary records" end' "$out"
}
# The lossy link really lost two data segments, and saw them sent again.
assert_eq 2 "$(jqv "$ST2" .ab.lost)" "data segments the lossy link dropped"
assert_eq 0 "$(jqv "$ST1" .ab.lost)" "data segments the clean link dropped"

for k in 1 2; do
	eval "C=\$C$k SV=\$SV$k P=\$P$k L=\$L$k ST=\$ST$k"
	# Client side: what came from the server's direction (ba).
	assert_eq $K "$(summary "$C" "$P" conns)" "connections of client $C to $P"
	assert_eq "$(jqv "$ST" .ba.tcp_segments)" "$(summary "$C" "$P" segs_in)" "segments client $C received from $P (the link's count)"
	assert_eq "$(jqv "$ST" .ba.tcp_data_segments)" "$(summary "$C" "$P" data_segs_in)" "data segments client $C received from $P (the link's count)"
	assert_eq "$(jqv "$ST" .ab.tcp_retransmits)" "$(summary "$C" "$P" retrans)" "retransmits of client $C to $P (seen on the wire)"
	assert_eq $((K * W * S)) "$(summary "$C" "$P" tx_bytes)" "payload bytes client $C sent to $P"
	assert_eq $((K * W * S)) "$(summary "$C" "$P" rx_bytes)" "payload bytes client $C received from $P"
	# Server side: what came from the client's direction (ab).
	assert_eq $K "$(summary "$SV" "$L" conns)" "connections of server $SV from $L"
	assert_eq "$(jqv "$ST" .ab.tcp_segments)" "$(summary "$SV" "$L" segs_in)" "segments server $SV received from $L (the link's count)"
	assert_eq "$(jqv "$ST" .ab.tcp_data_segments)" "$(summary "$SV" "$L" data_segs_in)" "data segments server $SV received from $L (the link's count)"
	assert_eq "$(jqv "$ST" .ba.tcp_retransmits)" "$(summary "$SV" "$L" retrans)" "retransmits of server $SV to $L (seen on the wire)"
	assert_eq $((K * W * S)) "$(summary "$SV" "$L" rx_bytes)" "payload bytes server $SV received"
done
# Known counts, from the rounds: one data segment per round each way, plus
# the retransmissions the wire carried (none on the clean link, unless a
# loaded machine delays a segment past the tail-loss probe's 10 ms), less
# the segments lost on purpose.
for k in 1 2; do
	eval "C=\$C$k SV=\$SV$k P=\$P$k L=\$L$k ST=\$ST$k"
	assert_eq $((K * W + $(jqv "$ST" .ab.tcp_retransmits) - $(jqv "$ST" .ab.lost))) "$(summary "$SV" "$L" data_segs_in)" \
		"data segments server $k received: a round each, plus retransmissions, less those lost"
	assert_eq $((K * W + $(jqv "$ST" .ba.tcp_retransmits))) "$(summary "$C" "$P" data_segs_in)" \
		"data segments client $k received: a round each, plus retransmissions"
done
assert_ge "$(summary "$C2" "$P2" retrans)" 2 "retransmits over the lossy link (2 lost)"
# The per-connection records carry the same retransmits.
assert_eq "$(summary "$C2" "$P2" retrans)" "$(jq -s --argjson p "$C2" '[.[] | select(.type=="tcp_conn" and .pid==$p) | .retrans] | add' "$out")" "retransmits in client 2's connection records"
assert_eq 0 "$(jq -s '[.[] | select(.type=="losses") | to_entries[] | select(.key != "type" and .value != 0)] | length' "$out")" "losses reported"
