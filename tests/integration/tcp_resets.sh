#!/usr/bin/env bash
# per-node: yes
# timeout: 90
#
# Resets sent and received, and how connections end, on both sides:
#   - a connect to a closed port: refused (a reset received, never
#     established), counted as failed in the summary;
#   - a server that closes a connection with data it never read: the kernel
#     sends a reset (server: aborted, 1 sent; client: reset, 1 received),
#     and both sides still account the bytes that crossed;
#   - socket.resetAndDestroy() in the client (zero linger): client aborted
#     with 1 reset sent, server reset with 1 received.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"
. "$TESTS_LIB/tcp.sh"

N=5000
nt_netns_create
NS=$NT_NS
out=$TEST_TMP/nodetap.jsonl
nt_tcp_start "$out"
bg ip netns exec "$NS" "$NODE" "$TESTS_LIB/tcp-peer.js" server --listen 127.0.0.1:8090 --mode unread \
	--unread-ms 300 --ready "$TEST_TMP/su"
SU=$BG_PID
bg ip netns exec "$NS" "$NODE" "$TESTS_LIB/tcp-peer.js" server --listen 127.0.0.1:8091 --mode hold \
	--ready "$TEST_TMP/sh"
SH=$BG_PID
wait_for 10 "servers listening" test -s "$TEST_TMP/su" -a -s "$TEST_TMP/sh"

client() { # OUT ARGS...
	local o=$1
	shift
	ip netns exec "$NS" "$NODE" "$TESTS_LIB/tcp-peer.js" client --out "$o" "$@" || fail "client $* failed"
}
client "$TEST_TMP/refused.json" --connect 127.0.0.1:9 --mode refused
client "$TEST_TMP/unread.json" --connect 127.0.0.1:8090 --mode unread --send $N
client "$TEST_TMP/reset.json" --connect 127.0.0.1:8091 --mode reset --hold-ms 100
nt_tcp_wait_closed "$NS"
nt_tcp_stop

# rec PID PORT_FIELD PORT: the one tcp_conn record of PID with that port.
rec() {
	jq -s -c --argjson p "$1" --arg f "$2" --argjson port "$3" \
		'[.[] | select(.type=="tcp_conn" and .pid==$p and .[$f]==$port)] |
		 if length == 1 then .[0] else "\(length) records" end' "$out"
}
# expect_rec WHAT RECORD JQ_CONDITION
expect_rec() {
	local got
	got=$(jq -r "$3" <<<"$2" 2>/dev/null) || got=error
	[ "$got" = true ] || fail "$1: expected $3, got $2"
}

RC=$(jqv "$TEST_TMP/refused.json" .pid)
r=$(rec "$RC" remote_port 9)
expect_rec "refused connect" "$r" '.end=="refused" and .established==false and .rst_received==1 and .rst_sent==0 and .tx_bytes==0 and .rx_bytes==0 and .direction=="out" and .close_from=="SYN_SENT"'
assert_eq 1 "$(jq -s --argjson p "$RC" '[.[] | select(.type=="tcp_summary" and .pid==$p)][0].failed' "$out")" "failed connections in the refused client's summary"
assert_eq 1 "$(jq -s --argjson p "$RC" '[.[] | select(.type=="tcp_summary" and .pid==$p)][0].rst_received' "$out")" "resets received in the refused client's summary"

UC=$(jqv "$TEST_TMP/unread.json" .pid)
port=$(jqv "$TEST_TMP/unread.json" '.conns[0].lport')
r=$(rec "$UC" local_port "$port")
expect_rec "client whose data the server never read" "$r" ".end==\"reset\" and .rst_received==1 and .rst_sent==0 and .tx_bytes==$N and .established==true"
r=$(rec "$SU" remote_port "$port")
expect_rec "server that closed with unread data" "$r" ".end==\"aborted\" and .rst_sent==1 and .rst_received==0 and .rx_bytes==$N and .tx_bytes==0 and .direction==\"in\""

RS=$(jqv "$TEST_TMP/reset.json" .pid)
port=$(jqv "$TEST_TMP/reset.json" '.conns[0].lport')
r=$(rec "$RS" local_port "$port")
expect_rec "client that called resetAndDestroy()" "$r" '.end=="aborted" and .rst_sent==1 and .rst_received==0 and .established==true'
r=$(rec "$SH" remote_port "$port")
expect_rec "server whose client reset" "$r" '.end=="reset" and .rst_received==1 and .rst_sent==0'

# Summaries count the same resets.
for pid in $UC $SU $RS $SH; do
	assert_eq "$(jq -s --argjson p "$pid" '[.[] | select(.type=="tcp_conn" and .pid==$p) | .rst_sent + .rst_received] | add' "$out")" \
		"$(jq -s --argjson p "$pid" '[.[] | select(.type=="tcp_summary" and .pid==$p) | .rst_sent + .rst_received] | add' "$out")" \
		"resets of pid $pid: records against summary"
done
