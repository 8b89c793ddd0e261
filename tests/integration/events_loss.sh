#!/usr/bin/env bash
# Per-event mode under load loses nothing uncounted: a DNS storm, then
# connection churn. `nodetap dns --events
# --json` with a ring buffer shrunk to 4 KB (NODETAP_TEST_MAP_ENTRIES, a
# test-only setting: about a dozen lookup records) against a DNS storm: one
# node process makes N lookups of localhost (from /etc/hosts, nothing leaves
# the host), C at a time, as fast as it can. The loader drains the ring
# every 0.1 s, so most records find it full: the loss happens for real.
# Ground truth: the lookups the process made and saw complete. Events
# printed + ring_buffer_drops (+ inflight_full, 0 here: C is far below the
# in-flight map's size) == made, exactly; and the summary, which does not go
# through the ring buffer, counts every one.
. "$(dirname "$0")/../lib/common.sh"

N=20000 C=64
cat >"$TEST_TMP/storm.js" <<'EOF2'
const dns = require('dns'), fs = require('fs');
const [n, c, out] = [+process.argv[2], +process.argv[3], process.argv[4]];
let started = 0, done = 0, ok = 0;
const t0 = process.hrtime.bigint();
function one() {
	if (started >= n) return;
	started++;
	dns.lookup('localhost', { family: 4 }, (err) => {
		if (!err) ok++;
		if (++done === n) {
			const ms = Number(process.hrtime.bigint() - t0) / 1e6;
			fs.writeFileSync(out, JSON.stringify({ pid: process.pid, done, ok, ms }));
		} else one();
	});
}
for (let i = 0; i < c; i++) one();
setTimeout(() => process.exit(3), 120000).unref();
EOF2

out=$TEST_TMP/out.jsonl
NODETAP_TEST_MAP_ENTRIES=events=4096 timeout -k 5 180 "$REPO/nodetap" dns --events --json -- \
	"$NODE" "$TEST_TMP/storm.js" $N $C "$TEST_TMP/truth.json" \
	>"$out" 2>"$TEST_TMP/stderr" || fail "nodetap exited $?: $(cat "$TEST_TMP/stderr")"
assert_jq "$TEST_TMP/truth.json" .done $N "lookups completed in the process"
events=$(jq -s '[.[] | select(.type=="dns_lookup" and .host=="localhost")] | length' "$out")
drops=$(jqv "$out" 'select(.type=="losses") | .ring_buffer_drops')
full=$(jqv "$out" 'select(.type=="losses") | .inflight_full')
counted=$(jq -s '[.[] | select(.type=="dns_summary" and .host=="localhost") | .count] | add // 0' "$out")
rate=$(jq -r '(.done * 1000 / .ms) | floor' "$TEST_TMP/truth.json")
echo "events_loss: dns: $N lookups made at $rate/s, 4 KB ring buffer: events printed $events + ring_buffer_drops $drops + inflight_full $full = $((events + drops + full)); summary counted $counted"
assert_gt "$drops" 0 "ring_buffer_drops (a 4 KB ring cannot hold $N records between polls)"
assert_gt "$events" 0 "events printed"
assert_eq $N $((events + drops + full)) "events printed + losses reported"
assert_eq $N "$counted" "lookups counted in the summary"

# Connection churn: `nodetap connect --events --json`, the same 4 KB ring
# buffer; one node process makes M connects to a listener of its own on
# loopback, C at a time. Events printed + losses == connects made.
M=5000
cat >"$TEST_TMP/churn.js" <<'EOF2'
const net = require('net'), fs = require('fs');
const [n, c, out] = [+process.argv[2], +process.argv[3], process.argv[4]];
const t0 = process.hrtime.bigint();
const srv = net.createServer((s) => s.destroy()).listen(0, '127.0.0.1', () => {
	const port = srv.address().port;
	let started = 0, done = 0, ok = 0;
	function one() {
		if (started >= n) return;
		started++;
		const s = net.connect(port, '127.0.0.1');
		s.on('connect', () => { ok++; s.destroy(); fin(); });
		s.on('error', fin);
	}
	function fin() {
		if (++done < n) return one();
		const ms = Number(process.hrtime.bigint() - t0) / 1e6;
		fs.writeFileSync(out, JSON.stringify({ pid: process.pid, done, ok, ms }));
		srv.close();
	}
	for (let i = 0; i < c; i++) one();
});
setTimeout(() => process.exit(3), 120000).unref();
EOF2
out=$TEST_TMP/connect.jsonl
NODETAP_TEST_MAP_ENTRIES=events=4096 timeout -k 5 180 "$REPO/nodetap" connect --events --json -- \
	"$NODE" "$TEST_TMP/churn.js" $M 32 "$TEST_TMP/truth-connect.json" \
	>"$out" 2>"$TEST_TMP/stderr" || fail "nodetap connect exited $?: $(cat "$TEST_TMP/stderr")"
assert_jq "$TEST_TMP/truth-connect.json" .ok $M "connects established in the process"
events=$(jq -s '[.[] | select(.type=="connect")] | length' "$out")
drops=$(jqv "$out" 'select(.type=="losses") | .ring_buffer_drops')
full=$(jqv "$out" 'select(.type=="losses") | .inflight_full')
counted=$(jq -s '[.[] | select(.type=="connect_summary") | .established] | add // 0' "$out")
rate=$(jq -r '(.done * 1000 / .ms) | floor' "$TEST_TMP/truth-connect.json")
echo "events_loss: connect: $M connects made at $rate/s, 4 KB ring buffer: events printed $events + ring_buffer_drops $drops + inflight_full $full = $((events + drops + full)); summary counted $counted"
assert_gt "$drops" 0 "ring_buffer_drops (connect)"
assert_eq $M $((events + drops + full)) "connect events printed + losses reported"
assert_eq $M "$counted" "connects counted in the summary"

run_cleanups
assert_no_procs_left
