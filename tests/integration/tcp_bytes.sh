#!/usr/bin/env bash
# per-node: yes
# timeout: 90
#
# nodetap tcp (default: node processes) reports every connection with the
# exact payload bytes it carried each way. Ground truth: clients that send
# exactly N bytes and servers that answer exactly M bytes (tcp-peer.js checks
# both ends), over IPv4, IPv6 (::1) and a dual-stack server reached over
# IPv4 (v4-mapped, reported as IPv4). K connections give K records on each
# side, matched by port; durations lie within what the client measured; the
# per-remote summary adds up to the records; nothing is lost.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"
. "$TESTS_LIB/tcp.sh"

K=4 K6=2 KD=1 N=3000 M=70001
nt_netns_create
NS=$NT_NS
out=$TEST_TMP/nodetap.jsonl
nt_tcp_start "$out"

# Servers start after nodetap: their listen() is seen.
server() { # ADDR READY
	bg ip netns exec "$NS" "$NODE" "$TESTS_LIB/tcp-peer.js" server --listen "$1" --reply $M --ready "$2"
}
server 127.0.0.1:8080 "$TEST_TMP/s4"; S4=$BG_PID
server '[::1]:8081' "$TEST_TMP/s6"; S6=$BG_PID
server '[::]:8082' "$TEST_TMP/sd"; SD=$BG_PID
wait_for 10 "servers listening" test -s "$TEST_TMP/s4" -a -s "$TEST_TMP/s6" -a -s "$TEST_TMP/sd"

client() { # ADDR CONNS OUT
	ip netns exec "$NS" "$NODE" "$TESTS_LIB/tcp-peer.js" client --connect "$1" --conns "$2" \
		--send $N --expect $M --out "$3" || fail "client to $1 failed"
}
client 127.0.0.1:8080 $K "$TEST_TMP/c4.json"
client '[::1]:8081' $K6 "$TEST_TMP/c6.json"
client 127.0.0.1:8082 $KD "$TEST_TMP/cd.json"
nt_tcp_wait_closed "$NS"
nt_tcp_stop
C4=$(jqv "$TEST_TMP/c4.json" .pid) C6=$(jqv "$TEST_TMP/c6.json" .pid) CD=$(jqv "$TEST_TMP/cd.json" .pid)
log "clients $C4 $C6 $CD, servers $S4 $S6 $SD"

conns() { # PID: that process's tcp_conn records, as one JSON array
	jq -s --argjson p "$1" '[.[] | select(.type=="tcp_conn" and .pid==$p)]' "$out"
}
# check_side PID COUNT FAMILY DIRECTION TX RX LADDR RADDR PORTS_FILE PORT_FIELD
check_side() {
	local pid=$1 count=$2 fam=$3 dir=$4 tx=$5 rx=$6 laddr=$7 raddr=$8 cfile=$9 pfield=${10}
	local recs=$TEST_TMP/recs-$pid.json
	conns "$pid" >"$recs"
	assert_eq "$count" "$(jqv "$recs" length)" "connections reported for pid $pid"
	assert_eq 0 "$(jq --argjson tx "$tx" --argjson rx "$rx" --argjson fam "$fam" --arg dir "$dir" \
		--arg la "$laddr" --arg ra "$raddr" '[.[] | select(.tx_bytes != $tx or .rx_bytes != $rx
		or .family != $fam or .direction != $dir or .local_addr != $la or .remote_addr != $ra
		or .established != true or .start_seen != true or .end != "closed"
		or .rst_sent != 0 or .rst_received != 0)] | length' "$recs")" \
		"records of pid $pid that differ from ($fam $dir tx $tx rx $rx $laddr -> $raddr closed): $(cat "$recs")"
	# The very connections the client made: its local ports.
	assert_eq "$(jq -c '[.conns[].lport] | sort' "$cfile")" \
		"$(jq -c --arg f "$pfield" '[.[][$f]] | sort' "$recs")" "ports of pid $pid's connections"
}
# Clients: out, N sent and M received. Servers: in, M sent and N received.
# (Retransmits are not asserted here: on a loaded machine even loopback sees
# a tail-loss probe now and then. tcp_segments checks them against the wire.)
check_side "$C4" $K 4 out $N $M 127.0.0.1 127.0.0.1 "$TEST_TMP/c4.json" local_port
check_side "$S4" $K 4 in $M $N 127.0.0.1 127.0.0.1 "$TEST_TMP/c4.json" remote_port
check_side "$C6" $K6 6 out $N $M ::1 ::1 "$TEST_TMP/c6.json" local_port
check_side "$S6" $K6 6 in $M $N ::1 ::1 "$TEST_TMP/c6.json" remote_port
check_side "$CD" $KD 4 out $N $M 127.0.0.1 127.0.0.1 "$TEST_TMP/cd.json" local_port
check_side "$SD" $KD 4 in $M $N 127.0.0.1 127.0.0.1 "$TEST_TMP/cd.json" remote_port
assert_eq 0 "$(jq -s --argjson p "$C4" '[.[] | select(.type=="tcp_conn" and .pid==$p and .remote_port != 8080)] | length' "$out")" "client connections to another port"

# Durations: from connect() to CLOSE, inside what the client measured from
# net.connect() to its 'close' event.
for c in c4 c6 cd; do
	pid=$(jqv "$TEST_TMP/$c.json" .pid)
	good=$(jq -n --slurpfile c "$TEST_TMP/$c.json" --slurpfile n "$out" --argjson p "$pid" '
		[$c[0].conns[] as $cc | $n[] | select(.type=="tcp_conn" and .pid==$p and .local_port==$cc.lport)
		 | select(.duration_ns > 0 and .duration_ns <= $cc.ms * 1e6 and .time_ns == .start_ns + .duration_ns)] | length')
	assert_eq "$(jqv "$TEST_TMP/$c.json" '.conns | length')" "$good" \
		"connections of pid $pid whose duration lies within the client's own measure"
done

# The summary per (process, remote) adds up to the records.
for pid in $C4 $S4 $C6 $S6 $CD $SD; do
	diff=$(jq -r -c -s --argjson p "$pid" '
		def keys_: ["conns","tx_bytes","rx_bytes","segs_in","segs_out","data_segs_in","data_segs_out","retrans","rst_sent","rst_received"];
		([.[] | select(.type=="tcp_conn" and .pid==$p)] | group_by(.remote_addr)
		 | map({remote_addr: .[0].remote_addr, conns: length, tx_bytes: (map(.tx_bytes)|add), rx_bytes: (map(.rx_bytes)|add),
			segs_in: (map(.segs_in)|add), segs_out: (map(.segs_out)|add),
			data_segs_in: (map(.data_segs_in)|add), data_segs_out: (map(.data_segs_out)|add),
			retrans: (map(.retrans)|add), rst_sent: (map(.rst_sent)|add), rst_received: (map(.rst_received)|add)})) as $from_conns
		| ([.[] | select(.type=="tcp_summary" and .pid==$p) | {remote_addr} + (with_entries(select(.key as $k | keys_ | index($k))))]) as $summary
		| if ($from_conns | sort_by(.remote_addr)) == ($summary | sort_by(.remote_addr)) then "same" else {$from_conns, $summary} end' "$out")
	assert_eq same "$diff" "summary of pid $pid against its connection records"
done
assert_eq $((K * N)) "$(jq -s --argjson p "$C4" '[.[] | select(.type=="tcp_summary" and .pid==$p)][0].tx_bytes' "$out")" "summary: bytes pid $C4 sent"
assert_eq $((K * M)) "$(jq -s --argjson p "$C4" '[.[] | select(.type=="tcp_summary" and .pid==$p)][0].rx_bytes' "$out")" "summary: bytes pid $C4 received"

# Nothing lost.
assert_eq 0 "$(jq -s '[.[] | select(.type=="losses") | to_entries[] | select(.key != "type" and .value != 0)] | length' "$out")" "losses reported"
assert_jq "$out" 'select(.type=="report") | .final' true "final report"
