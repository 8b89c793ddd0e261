#!/usr/bin/env bash
# timeout: 90
# A full map under `nodetap monitor` shows in nodetap_lost_events_total.
# The monitor's dns_stats (rows per process and host, drained into "other"
# past --top at each sync) is shrunk to N rows (NODETAP_TEST_MAP_ENTRIES, a
# test-only setting); one node process (in a private network namespace
# whose /etc/hosts names them) looks up K > N distinct names as fast as it
# can, one after the other. Ground truth: the lookups it made. The monitor
# is host-wide and its map is shared with every node process on the host, so
# its map_full may also hold other tests' lookups: what is exact is that
# every lookup of ours is either in our series or in map_full:
# counted + map_full >= made, with counted < made (the map did fill: at
# --top 2, our process keeps 2 rows and the sync drains the rest every
# 0.2 s; 40 lookups from /etc/hosts take far less than that).
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"
. "$TESTS_LIB/monitor.sh"

N=4 K=40
nt_netns_create
{
	echo "127.0.0.1 localhost"
	for ((i = 1; i <= K; i++)); do echo "127.0.0.1 h$i.mfull-$$.test"; done
} >"/etc/netns/$NT_NS/hosts"
cat >"$TEST_TMP/hosts.js" <<'EOF2'
// On SIGUSR2: h1..hK one after the other; then the lookups made into OUT.
const dns = require('dns'), fs = require('fs');
const [k, tag, out] = [+process.argv[2], process.argv[3], process.argv[4]];
process.on('SIGUSR2', () => {
	let i = 1, ok = 0;
	const one = () => dns.lookup(`h${i}.${tag}.test`, { family: 4 }, (err) => {
		if (!err) ok++;
		if (++i <= k) return one();
		fs.writeFileSync(out, String(ok));
	});
	one();
});
fs.writeFileSync(out + '.ready', String(process.pid));
setTimeout(() => process.exit(3), 60000);
EOF2

NODETAP_TEST_MAP_ENTRIES=dns_stats=$N nt_monitor_start --top 2
full0=$(nt_metric 'nodetap_lost_events_total{reason="map_full"}')
ip netns exec "$NT_NS" "$NODE" "$TEST_TMP/hosts.js" $K "mfull-$$" "$TEST_TMP/made" &
app=$!
on_exit kill_wait $app
wait_for 20 "the app ready" test -s "$TEST_TMP/made.ready"
nt_wait_in_metrics $app "the app"
kill -USR2 $app
wait_for 30 "the app's lookups" test -s "$TEST_TMP/made"
made=$(cat "$TEST_TMP/made")
assert_eq $K "$made" "lookups the app made"
# Counters only grow: wait until ours are all accounted for (or time out).
counted() { nt_metric_re "nodetap_dns_lookups_total\\{pid=\"$app\",.*\\}"; }
settled() {
	local c f
	c=$(counted) f=$(nt_metric 'nodetap_lost_events_total{reason="map_full"}')
	[ $(( ${c:-0} + ${f:-0} - full0 )) -ge "$made" ]
}
wait_for 30 "every lookup counted or in map_full" settled
c=$(counted)
full=$(( $(nt_metric 'nodetap_lost_events_total{reason="map_full"}') - full0 ))
echo "monitor_map_full: $made lookups of $K names, dns_stats of $N rows, --top 2: counted in the process's series ${c:-0}, map_full $full (of which at least $((made - ${c:-0})) ours)"
assert_lt "${c:-0}" "$made" "lookups counted (the map did fill)"
assert_ge "$full" $((made - ${c:-0})) "map_full: at least our lookups that were not counted"

run_cleanups
assert_no_procs_left
