#!/usr/bin/env bash
# nodetap connect --stacks keeps the stack of each lookup in flight in an LRU
# map (lookups, 16384): a lookup whose entry was evicted before its
# completion loses its origin stack, and its completion counts it as
# unmatched_completions. lookups is shrunk to N = 4 (NODETAP_TEST_MAP_ENTRIES,
# a test-only setting). One node process, in a private network namespace
# whose /etc/hosts names h1..hK (127.0.0.1..K), starts K = 16 lookups in one
# tick (all start before the first completes), then connects to each address
# it got, port 9 (nothing listens: refused). Ground truth: the process's own
# K lookups and K refusals. nodetap: K connect rows, each with its hostname
# (from the resolved addresses, another map); those with an origin stack
# plus unmatched_completions = K exactly, and at least K - N unmatched.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"

N=4 K=16
nt_netns_create
{
	echo "127.0.0.1 localhost"
	for ((i = 1; i <= K; i++)); do echo "127.0.0.$i h$i.evict-$$.test"; done
} >"/etc/netns/$NT_NS/hosts"

cat >"$TEST_TMP/app.js" <<'EOF2'
// K lookups at once, then a connect to each address (port 9), one after
// the other; writes what it got.
const dns = require('dns'), net = require('net'), fs = require('fs');
const [k, tag, out] = [+process.argv[2], process.argv[3], process.argv[4]];
const addrs = [];
let looked = 0, refused = 0;
function connectAll() {
	const a = addrs.shift();
	if (!a) return fs.writeFileSync(out, JSON.stringify({ pid: process.pid, looked, refused }));
	const s = net.connect(9, a);
	s.on('connect', () => process.exit(4));
	s.on('error', (e) => { if (e.code === 'ECONNREFUSED') refused++; connectAll(); });
}
for (let i = 1; i <= k; i++)
	dns.lookup(`h${i}.${tag}.test`, { family: 4 }, (err, a) => {
		if (!err) { looked++; addrs.push(a); }
		// Not from inside a lookup's callback: a connect made there is
		// credited to that lookup, whatever its address.
		if (looked === k) setImmediate(connectAll);
	});
setTimeout(() => process.exit(3), 60000).unref();
EOF2

out=$TEST_TMP/out.jsonl truth=$TEST_TMP/truth.json
NODETAP_TEST_MAP_ENTRIES=lookups=$N timeout -k 5 60 "$REPO/nodetap" connect --stacks --json -- \
	ip netns exec "$NT_NS" "$NODE" "$TEST_TMP/app.js" $K "evict-$$" "$truth" \
	>"$out" 2>"$TEST_TMP/stderr" || fail "nodetap exited $?: $(cat "$TEST_TMP/stderr")"
assert_jq "$truth" '"\(.looked) \(.refused)"' "$K $K" "lookups and refused connects the process made"
rows=$(jq -s '[.[] | select(.type=="connect_summary" and .refused==1 and (.host | test("^h[0-9]+\\.")))] | length' "$out")
with=$(jq -s '[.[] | select(.type=="connect_summary") | select(any(.stacks[]?; (.origin.frames // []) | length > 0))] | length' "$out")
unmatched=$(jqv "$out" 'select(.type=="losses") | .unmatched_completions')
echo "connect_lookups_evicted: $K lookups in flight, lookups of $N rows: $rows connects named, $with with their origin stack, unmatched_completions $unmatched (sum $((with + unmatched)), want $K)"
assert_eq $K "$rows" "connect rows, each refused once and named"
assert_eq $K $((with + unmatched)) "origin stacks kept + unmatched completions"
assert_ge "$unmatched" $((K - N)) "unmatched completions (the evicted entries)"
assert_jq "$out" 'select(.type=="losses") | .stacks_not_taken + .inflight_full + .map_full' 0 "no other loss"

run_cleanups
assert_no_procs_left
