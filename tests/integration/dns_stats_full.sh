#!/usr/bin/env bash
# A full aggregation map is counted and reported, and what it kept is exact.
# nodetap dns counts lookups per (process, hostname) in dns_stats (10240
# rows); the test shrinks it to N rows (NODETAP_TEST_MAP_ENTRIES, a test-only
# setting) and makes the map fill for real: one node process looks up K > N
# distinct names from its own /etc/hosts (a private namespace's, so nothing
# leaves the host), R times each, one after the other. Ground truth: the
# process's own results. The first N names get the N rows and are counted
# exactly R times each; each lookup of the other K - N names is one
# "map_full", exactly; none is counted anywhere else.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"

N=16 K=40 R=3
nt_netns_create
# `ip netns exec` bind-mounts /etc/netns/NS/hosts over /etc/hosts.
{
	echo "127.0.0.1 localhost"
	for ((i = 1; i <= K; i++)); do echo "127.0.0.1 h$i.full-$$.test"; done
} >"/etc/netns/$NT_NS/hosts"

cat >"$TEST_TMP/hosts.js" <<'EOF2'
// Looks up h1..hK R times each, strictly one after the other (so the first
// names seen are the first N), and writes what it got.
const dns = require('dns'), fs = require('fs');
const [k, r, tag, out] = [+process.argv[2], +process.argv[3], process.argv[4], process.argv[5]];
const ok = {};
let i = 1, n = 0;
function next() {
	if (i > k) {
		fs.writeFileSync(out, JSON.stringify({ pid: process.pid, ok }));
		return;
	}
	const host = `h${i}.${tag}.test`;
	dns.lookup(host, { family: 4 }, (err) => {
		if (!err) ok[host] = (ok[host] || 0) + 1;
		if (++n === r) { n = 0; i++; }
		next();
	});
}
next();
setTimeout(() => process.exit(3), 60000).unref();
EOF2

run() { # run FORMAT OUT TRUTH
	local fmt=$1 out=$2 truth=$3
	NODETAP_TEST_MAP_ENTRIES=dns_stats=$N timeout -k 5 120 "$REPO/nodetap" dns $fmt -- \
		ip netns exec "$NT_NS" "$NODE" "$TEST_TMP/hosts.js" $K $R "full-$$" "$truth" \
		>"$out" 2>"$TEST_TMP/stderr" || fail "nodetap dns $fmt exited $?: $(cat "$TEST_TMP/stderr")"
}

out=$TEST_TMP/out.jsonl
run --json "$out" "$TEST_TMP/truth.json"
# Ground truth: every lookup succeeded, R per name.
assert_jq "$TEST_TMP/truth.json" '[.ok[]] | length' $K "names the process resolved"
assert_jq "$TEST_TMP/truth.json" '[.ok[]] | add' $((K * R)) "lookups the process made"
kept=$(jq -scS '[.[] | select(.type=="dns_summary") | {key: .host, value: .count}] | from_entries' "$out")
want=$(jq -ncS --argjson n $N --argjson r $R --arg t "full-$$" \
	'[range(1; $n + 1) | {key: "h\(.).\($t).test", value: $r}] | from_entries')
full=$(jqv "$out" 'select(.type=="losses") | .map_full')
echo "dns_stats_full: $K names x $R lookups, dns_stats of $N rows: kept $(jq length <<<"$kept") names, $(jq '[.[]] | add // 0' <<<"$kept") lookups; map_full $full (want $(((K - N) * R)))"
assert_eq "$want" "$kept" "names kept and their counts (the first $N, $R each)"
assert_eq $(((K - N) * R)) "$full" "map_full: the lookups of the names that did not fit"
assert_jq "$out" 'select(.type=="losses") | .ring_buffer_drops + .inflight_full + .unmatched_completions' 0 \
	"other losses"

# The text report names the loss with its count.
run "" "$TEST_TMP/text" "$TEST_TMP/truth2.json"
assert_match "lost since start:.* $(((K - N) * R)) map_full" "$(cat "$TEST_TMP/text")" "loss line of the text report"

# The setting itself: a malformed entry is a usage error, named.
. "$TESTS_LIB/cli.sh"
NODETAP_TEST_MAP_ENTRIES=dns_stats expect 2 "NODETAP_TEST_MAP_ENTRIES: 'dns_stats' is not MAP=N" dns -- true
NODETAP_TEST_MAP_ENTRIES=dns_stats=0 expect 2 "NODETAP_TEST_MAP_ENTRIES: 'dns_stats=0' is not MAP=N" dns -- true

run_cleanups
assert_no_procs_left
