#!/usr/bin/env bash
# timeout: 120
# nodetap monitor's per-process TCP counters against a ground truth that is
# not the kernel's: a client in the test's namespace plays ping-pong with an
# echo server over a link (tests/lib/delayline.c) that loses every 3rd data
# segment from the client, two in all, and counts the retransmissions it
# carries; another client sends data a server never reads, which the
# server's kernel answers with a reset. Expected in /metrics for the client
# processes (started after the monitor): the connections closed, payload
# bytes each way exactly, retransmits = what the wire carried (>= 2), resets
# received = connections reset, lifetimes counted.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"
. "$TESTS_LIB/tcp.sh"
. "$TESTS_LIB/monitor.sh"

W=12 S=100 N=3000 U=2
nt_netns_create
NS=$NT_NS
nt_netns_peer "$NS" 0 ab:3:2
PNS=$NT_PEER_NS P=$NT_PEER_ADDR DL=$NT_DELAYLINE_PID ST=$NT_DELAYLINE_STATS
bg ip netns exec "$PNS" "$NODE" "$TESTS_LIB/tcp-peer.js" server --listen "$P:7000" --mode echo --ready "$TEST_TMP/r1"
bg ip netns exec "$PNS" "$NODE" "$TESTS_LIB/tcp-peer.js" server --listen "$P:7001" --mode unread \
	--unread-ms 300 --ready "$TEST_TMP/r2"
wait_for 10 "servers" test -s "$TEST_TMP/r1" -a -s "$TEST_TMP/r2"

nt_monitor_start
client() { ip netns exec "$NS" "$NODE" "$TESTS_LIB/tcp-peer.js" client "$@"; }
client --connect "$P:7000" --mode pingpong --rounds $W --size $S --out "$TEST_TMP/pp.json" ||
	fail "ping-pong client failed"
client --connect "$P:7001" --mode unread --send $N --conns $U --out "$TEST_TMP/unread.json" ||
	fail "unread client failed"
nt_tcp_wait_closed "$NS"
nt_delayline_stats "$DL" "$ST"
log "link: $(cat "$ST")"
PP=$(jqv "$TEST_TMP/pp.json" .pid) UC=$(jqv "$TEST_TMP/unread.json" .pid)
assert_eq 2 "$(jqv "$ST" .ab.lost)" "data segments the lossy link dropped"

m() { nt_metric_re "$1\\{pid=\"$2\",comm=\"[^\"]*\"${3:-}\\}"; }
settled() { [ "$(m nodetap_tcp_connections_closed_total "$PP")" = 1 ] &&
	[ "$(m nodetap_tcp_connections_closed_total "$UC")" = $U ]; }
for _ in $(seq 100); do settled && break; sleep 0.1; done
assert_eq 1 "$(m nodetap_tcp_connections_closed_total "$PP")" "connections of the ping-pong client"
assert_eq $((W * S)) "$(m nodetap_tcp_sent_bytes_total "$PP")" "bytes the ping-pong client sent"
assert_eq $((W * S)) "$(m nodetap_tcp_received_bytes_total "$PP")" "bytes the ping-pong client received"
# The link's count covers every flow from NS: the unread client's too, which
# retransmits as well when the loaded machine delays its acks past an RTO
# (a flake: 3 on the wire, 2 for the ping-pong client). Both clients'.
assert_eq "$(jqv "$ST" .ab.tcp_retransmits)" \
	"$(($(m nodetap_tcp_retransmits_total "$PP") + $(m nodetap_tcp_retransmits_total "$UC")))" \
	"retransmits of both clients (seen on the wire)"
assert_ge "$(m nodetap_tcp_retransmits_total "$PP")" 2 "retransmits of the ping-pong client"
assert_eq 1 "$(m nodetap_tcp_connection_lifetime_seconds_count "$PP")" "lifetimes of the ping-pong client"
assert_eq 0 "$(m nodetap_tcp_resets_total "$PP" ',direction="received"')" "resets the ping-pong client received"
assert_eq $U "$(m nodetap_tcp_connections_closed_total "$UC")" "connections of the unread client"
assert_eq $U "$(m nodetap_tcp_resets_total "$UC" ',direction="received"')" "resets the unread client received"
assert_eq 0 "$(m nodetap_tcp_resets_total "$UC" ',direction="sent"')" "resets the unread client sent"
assert_eq $((U * N)) "$(m nodetap_tcp_sent_bytes_total "$UC")" "bytes the unread client sent (acknowledged)"
assert_eq $U "$(m nodetap_tcp_connects_total "$UC" ",daddr=\"$P\",dport=\"7001\",result=\"established\"")" "connects of the unread client"
