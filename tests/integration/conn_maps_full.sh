#!/usr/bin/env bash
# Full per-destination maps are counted and reported, and what they kept is
# exact. nodetap connect counts connects per (process, destination) in
# connect_stats, nodetap tcp connections per (process, remote address) in
# remotes (10240 rows each); the test shrinks them to N rows
# (NODETAP_TEST_MAP_ENTRIES, a test-only setting) and fills them for real:
# one node process, in a private network namespace (nothing else listens or
# connects there), connects to K > N distinct loopback addresses
# 127.0.0.1..K, port 9, R times each, one after the other; nothing listens,
# so each connect is refused. Ground truth: the process's own count of
# refusals per address. The first N addresses are counted exactly R times
# each; every connect to the others is a "map_full".
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"

N=8 K=20 R=2
nt_netns_create

cat >"$TEST_TMP/connects.js" <<'EOF2'
// Connects to 127.0.0.1..K port 9 R times each, one after the other (so the
// first addresses seen are the first N), and writes the refusals it got.
const net = require('net'), fs = require('fs');
const [k, r, out] = [+process.argv[2], +process.argv[3], process.argv[4]];
const refused = {};
let i = 1, n = 0;
function next() {
	if (i > k) {
		fs.writeFileSync(out, JSON.stringify({ pid: process.pid, refused }));
		return;
	}
	const addr = `127.0.0.${i}`;
	const s = net.connect(9, addr);
	s.on('connect', () => { s.destroy(); process.exit(4); }); // something listens: no ground truth
	s.on('error', (e) => {
		if (e.code === 'ECONNREFUSED') refused[addr] = (refused[addr] || 0) + 1;
		if (++n === r) { n = 0; i++; }
		next();
	});
}
next();
setTimeout(() => process.exit(3), 60000).unref();
EOF2

run() { # run SUBCOMMAND MAP OUT TRUTH [OPTIONS]
	local sub=$1 map=$2 out=$3 truth=$4
	shift 4
	NODETAP_TEST_MAP_ENTRIES=$map=$N timeout -k 5 120 "$REPO/nodetap" $sub "$@" -- \
		ip netns exec "$NT_NS" "$NODE" "$TEST_TMP/connects.js" $K $R "$truth" \
		>"$out" 2>"$TEST_TMP/stderr" || fail "nodetap $sub $* exited $?: $(cat "$TEST_TMP/stderr")"
	assert_jq "$truth" '[.refused[]] | length' $K "addresses refused ($sub)"
	assert_jq "$truth" '[.refused[]] | add' $((K * R)) "connects refused ($sub)"
}
# The first N addresses, R each, as {addr: R}.
want=$(jq -ncS --argjson n $N --argjson r $R '[range(1; $n + 1) | {key: "127.0.0.\(.)", value: $r}] | from_entries')

out=$TEST_TMP/connect.jsonl
run connect connect_stats "$out" "$TEST_TMP/truth-connect.json" --json
kept=$(jq -scS '[.[] | select(.type=="connect_summary" and .refused == .attempts) |
	{key: .dst_addr, value: .refused}] | from_entries' "$out")
cfull=$(jqv "$out" 'select(.type=="losses") | .map_full')
echo "conn_maps_full: connect: $K addresses x $R connects, connect_stats of $N rows: kept $(jq length <<<"$kept") addresses, $(jq '[.[]] | add // 0' <<<"$kept") connects; map_full $cfull (want $(((K - N) * R)))"
assert_eq "$want" "$kept" "connect: addresses kept and their refusals"
assert_eq $N "$(jq -s '[.[] | select(.type=="connect_summary")] | length' "$out")" "connect: summary rows"
assert_eq $(((K - N) * R)) "$cfull" "connect: map_full, the connects to addresses that did not fit"

out=$TEST_TMP/tcp.jsonl
run tcp remotes "$out" "$TEST_TMP/truth-tcp.json" --json
kept=$(jq -scS '[.[] | select(.type=="tcp_summary" and .failed == .conns) |
	{key: .remote_addr, value: .conns}] | from_entries' "$out")
tfull=$(jqv "$out" 'select(.type=="losses") | .map_full')
events=$(jq -s '[.[] | select(.type=="tcp_conn" and .end=="refused")] | length' "$out")
echo "conn_maps_full: tcp: $K addresses x $R connects, remotes of $N rows: kept $(jq length <<<"$kept") addresses, $(jq '[.[]] | add // 0' <<<"$kept") connections; map_full $tfull; refused connections as events $events"
assert_eq "$want" "$kept" "tcp: remotes kept and their connections"
assert_eq $((K * R)) "$events" "tcp: every connection still has its event (the events do not need the row)"
assert_eq $(((K - N) * R * 2)) "$tfull" "tcp: map_full, two per connection to a remote that did not fit (its reset, its close)"

# The text reports name the loss with its count.
run connect connect_stats "$TEST_TMP/connect.txt" "$TEST_TMP/truth3.json"
assert_match "lost since start:.* $(((K - N) * R)) map_full" "$(cat "$TEST_TMP/connect.txt")" "connect: loss line of the text report"

run_cleanups
assert_no_procs_left
