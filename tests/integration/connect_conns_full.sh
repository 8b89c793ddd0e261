#!/usr/bin/env bash
# nodetap connect's in-flight map (conns, a row per connect from SYN sent to
# its outcome) full: each connect that did not fit is counted once as
# inflight_full, and the ones kept are exact. conns is shrunk to N = 2
# (NODETAP_TEST_MAP_ENTRIES, a test-only setting). To hold K = 5 connects in
# flight at once, the test's server (a node process, not traced) listens
# with a backlog of 1 and blocks its event loop: once two connections of the
# test's shell wait in its accept queue, the kernel drops further SYNs, and
# the client's connects stay in SYN_SENT. The client, under `nodetap connect
# --json -- node ...`, starts K connects; once all are sent the server goes
# on accepting, and the connects complete at their SYN's retransmission.
# Ground truth: the client's own count of connects established (K). nodetap:
# K - N inflight_full exactly; N connects established, counted exactly; no
# other loss.
. "$(dirname "$0")/../lib/common.sh"

N=2 K=5

cat >"$TEST_TMP/server.js" <<'EOF2'
// Listens (backlog 1), writes its port, then blocks (no accept) until GO
// exists; then accepts and holds every connection.
const net = require('net'), fs = require('fs');
const [portFile, go] = process.argv.slice(2);
const held = [];
const srv = net.createServer((s) => { held.push(s); s.resume(); s.on('error', () => {}); });
srv.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
	fs.writeFileSync(portFile, String(srv.address().port));
	const nap = new Int32Array(new SharedArrayBuffer(4));
	for (const end = Date.now() + 60000; !fs.existsSync(go) && Date.now() < end;)
		Atomics.wait(nap, 0, 0, 20);
});
setTimeout(() => process.exit(3), 60000);
EOF2
cat >"$TEST_TMP/client.js" <<'EOF2'
// K connects at once; writes SENT once their SYNs are out, and what it saw
// once all completed.
const net = require('net'), fs = require('fs');
const [port, k, sent, out] = [+process.argv[2], +process.argv[3], process.argv[4], process.argv[5]];
const socks = [];
let established = 0;
for (let i = 0; i < k; i++) {
	const s = net.connect(port, '127.0.0.1');
	socks.push(s);
	s.on('connect', () => {
		if (++established < k) return;
		fs.writeFileSync(out, JSON.stringify({ pid: process.pid, established }));
		socks.forEach((t) => t.destroy());
	});
	s.on('error', (e) => { fs.writeFileSync(out, JSON.stringify({ error: e.code })); process.exit(4); });
}
// connect() of an address literal runs on the next tick: after this, all
// K are in SYN_SENT.
setTimeout(() => fs.writeFileSync(sent, `${k}`), 200);
setTimeout(() => process.exit(3), 60000).unref();
EOF2

"$NODE" "$TEST_TMP/server.js" "$TEST_TMP/port" "$TEST_TMP/go" &
SRV=$!
on_exit kill_wait $SRV
wait_for 20 "the server's port" test -s "$TEST_TMP/port"
port=$(cat "$TEST_TMP/port")
# Two connections of the shell's fill the accept queue of a backlog of 1.
exec 4<>"/dev/tcp/127.0.0.1/$port" 5<>"/dev/tcp/127.0.0.1/$port"
on_exit exec 4<&- 5<&-

out=$TEST_TMP/connect.jsonl truth=$TEST_TMP/truth.json
NODETAP_TEST_MAP_ENTRIES=conns=$N timeout -k 5 60 "$REPO/nodetap" connect --json -- \
	"$NODE" "$TEST_TMP/client.js" "$port" $K "$TEST_TMP/sent" "$truth" \
	>"$out" 2>"$TEST_TMP/stderr" &
nt=$!
on_exit kill_wait $nt
wait_for 30 "the client's connects sent" test -s "$TEST_TMP/sent"
# None may have completed yet: the queue is full.
assert_eq 0 "$(jq -s '[.[] | select(.type=="connect_summary")] | length' "$out")" "connects completed before the server accepts"
touch "$TEST_TMP/go"
rc=0
wait $nt || rc=$?
assert_eq 0 $rc "nodetap connect's exit status: $(cat "$TEST_TMP/stderr")"
assert_jq "$truth" .established $K "connects the client saw established"
pid=$(jq .pid "$truth")
lost=$(jqv "$out" 'select(.type=="losses") | .inflight_full')
kept=$(jq -s --argjson p "$pid" '[.[] | select(.type=="connect_summary" and .pid==$p and .dst_port=='"$port"') | .established] | add // 0' "$out")
attempts=$(jq -s '[.[] | select(.type=="connect_summary") | .attempts] | add // 0' "$out")
echo "connect_conns_full: $K connects in flight at once, conns of $N rows: inflight_full $lost (want $((K - N))), established counted $kept, attempts counted $attempts (want $N)"
assert_eq $((K - N)) "$lost" "inflight_full, once per connect that did not fit"
assert_eq $N "$kept" "connects counted established (the ones kept)"
assert_eq $N "$attempts" "connects counted in all"
assert_jq "$out" 'select(.type=="losses") | [.[] | numbers] | add' $((K - N)) "no other loss"

run_cleanups
assert_no_procs_left
