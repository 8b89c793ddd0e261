#!/usr/bin/env bash
# nodetap tcp's in-flight map (conns, a row per connection from its start to
# its end) full: each connection that did not fit is counted once as
# inflight_full, and the ones kept are exact. conns is shrunk to N = 4
# (NODETAP_TEST_MAP_ENTRIES, a test-only setting); one node process under
# `nodetap tcp --json -- node ...` opens K = 10 connections at once to a
# server of the test's (another node process, not traced), and once all are
# established closes them: all at once (every lost one is then seen closing
# while conns is still full: before, it was counted a second time), then,
# in a second run, one after the other (the kept ones end first and free
# their slots: before, the lost ones were then adopted at their close as if
# begun before nodetap, and reported in part). Ground truth: the client's
# own count of connections established and closed (K each). nodetap: K - N
# inflight_full exactly; N connections (tcp_conn events and the summary's
# conns), each seen from its start; no other loss.
. "$(dirname "$0")/../lib/common.sh"

N=4 K=10

cat >"$TEST_TMP/server.js" <<'EOF2'
// Accepts, reads, and closes its side when the client closes its own.
const net = require('net'), fs = require('fs');
net.createServer((s) => { s.resume(); s.on('end', () => s.end()); s.on('error', () => {}); })
	.listen(0, '127.0.0.1', function () { fs.writeFileSync(process.argv[2], String(this.address().port)); });
setTimeout(() => process.exit(3), 120000);
EOF2
cat >"$TEST_TMP/client.js" <<'EOF2'
// K connections at once; when all are established, closes them (MODE
// "together": all in one tick; "serial": each after the previous one
// closed). Writes what it saw.
const net = require('net'), fs = require('fs');
const [port, k, mode, out] = [+process.argv[2], +process.argv[3], process.argv[4], process.argv[5]];
const socks = [];
let connected = 0, closed = 0;
for (let i = 0; i < k; i++) {
	const s = net.connect(port, '127.0.0.1');
	socks.push(s);
	s.resume();
	s.on('connect', () => {
		if (++connected < k) return;
		if (mode === 'serial') socks[0].end();
		else socks.forEach((t) => t.end());
	});
	s.on('error', (e) => { fs.writeFileSync(out, JSON.stringify({ error: e.code })); process.exit(4); });
	s.on('close', () => {
		closed++;
		if (mode === 'serial' && closed < k) socks[closed].end();
		if (closed === k) fs.writeFileSync(out, JSON.stringify({ pid: process.pid, connected, closed }));
	});
}
setTimeout(() => process.exit(3), 60000).unref();
EOF2

"$NODE" "$TEST_TMP/server.js" "$TEST_TMP/port" &
SRV=$!
on_exit kill_wait $SRV
wait_for 20 "the server's port" test -s "$TEST_TMP/port"
port=$(cat "$TEST_TMP/port")

for mode in together serial; do
	out=$TEST_TMP/$mode.jsonl truth=$TEST_TMP/$mode.truth
	NODETAP_TEST_MAP_ENTRIES=conns=$N timeout -k 5 60 "$REPO/nodetap" tcp --json -- \
		"$NODE" "$TEST_TMP/client.js" "$port" $K $mode "$truth" \
		>"$out" 2>"$TEST_TMP/$mode.stderr" || fail "nodetap tcp ($mode) exited $?: $(cat "$TEST_TMP/$mode.stderr")"
	assert_jq "$truth" '"\(.connected) \(.closed)"' "$K $K" "$mode: connections the client established and closed"
	pid=$(jq .pid "$truth")
	lost=$(jqv "$out" 'select(.type=="losses") | .inflight_full')
	events=$(jq -s --argjson p "$pid" --argjson port "$port" '[.[] | select(.type=="tcp_conn" and .pid==$p and .remote_port==$port and .start_seen and .established and .end=="closed")] | length' "$out")
	summed=$(jq -s --argjson p "$pid" '[.[] | select(.type=="tcp_summary" and .pid==$p and .remote_addr=="127.0.0.1") | .conns] | add // 0' "$out")
	echo "tcp_conns_full: $mode: $K connections, conns of $N rows: inflight_full $lost (want $((K - N))), $events tcp_conn events from their start, summary conns $summed (want $N)"
	assert_eq $((K - N)) "$lost" "$mode: inflight_full, once per connection that did not fit"
	assert_eq $N "$events" "$mode: tcp_conn events of the kept connections, each seen from its start"
	assert_eq $N "$(jq -s '[.[] | select(.type=="tcp_conn")] | length' "$out")" "$mode: tcp_conn events in all"
	assert_eq $N "$summed" "$mode: the summary's connections"
	assert_jq "$out" 'select(.type=="losses") | [.[] | numbers] | add' $((K - N)) "$mode: no other loss"
done

run_cleanups
assert_no_procs_left
