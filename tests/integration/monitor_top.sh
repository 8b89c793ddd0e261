#!/usr/bin/env bash
# timeout: 120
# Bounded cardinality: with --top 2, a process that looks up 5 hostnames
# (answered by the test's DNS server) gets series for the first 2 it looked
# up and the other 3 under host="other", with every lookup counted once;
# its connects to 4 closed ports likewise: 2 destinations of their own, the
# rest under daddr="other",dport="other". The rows folded into "other" leave
# the kernel's map (this monitor's own dns_stats, found through its fdinfo).
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"
. "$TESTS_LIB/monitor.sh"

N=3   # lookups of each name, connects to each port
nt_netns_create
NS=$NT_NS
nt_dns_start "$NS" '{"n1.nodetap.test":{"a":"127.0.0.1"},"n2.nodetap.test":{"a":"127.0.0.1"},
	"n3.nodetap.test":{"a":"127.0.0.1"},"n4.nodetap.test":{"a":"127.0.0.1"},
	"n5.nodetap.test":{"a":"127.0.0.1"}}'
nt_monitor_start --top 2

# Sequential, names round-robin: n1 and n2 are the first two seen.
ip netns exec "$NS" "$NODE" "$TESTS_LIB/dns-client.js" --count $N --mode sequential \
	--ready-file "$TEST_TMP/dns.pid" --out "$TEST_TMP/dns.json" \
	n1.nodetap.test n2.nodetap.test n3.nodetap.test n4.nodetap.test n5.nodetap.test ||
	fail "dns client exited $?"
ip netns exec "$NS" "$NODE" "$TESTS_LIB/connect-client.js" --out "$TEST_TMP/conn.json" \
	127.0.0.1:9101:$N 127.0.0.1:9102:$N 127.0.0.1:9103:$N 127.0.0.1:9104:$N ||
	fail "connect client exited $?"
DP=$(cat "$TEST_TMP/dns.pid") CP=$(jqv "$TEST_TMP/conn.json" .pid)
for n in 1 2 3 4 5; do
	assert_jq "$TEST_TMP/dns.json" ".names[\"n$n.nodetap.test\"].ok" $N "client: lookups of n$n"
done

host() { nt_metric_re "nodetap_dns_lookups_total\\{pid=\"$DP\",comm=\"[^\"]*\",host=\"$1\",result=\"ok\"\\}"; }
dest() { nt_metric_re "nodetap_tcp_connects_total\\{pid=\"$CP\",comm=\"[^\"]*\",daddr=\"$1\",dport=\"$2\",result=\"refused\"\\}"; }
settled() { [ "$(host other)" = $((3 * N)) ] && [ "$(dest other other)" = $((2 * N)) ]; }
for _ in $(seq 100); do settled && break; sleep 0.1; done
assert_eq $N "$(host n1\\.nodetap\\.test)" "lookups of n1 (first seen)"
assert_eq $N "$(host n2\\.nodetap\\.test)" "lookups of n2 (second seen)"
assert_eq "" "$(host 'n[345]\.nodetap\.test')" "series of hosts past --top"
assert_eq $((3 * N)) "$(host other)" "lookups under host=\"other\""
assert_eq $((5 * N)) "$(nt_metric_re "nodetap_dns_lookups_total\\{pid=\"$DP\",.*\\}")" "every lookup, once"
assert_eq $((5 * N)) "$(nt_metric_re "nodetap_dns_lookup_duration_seconds_count\\{pid=\"$DP\",.*\\}")" "every lookup timed"

assert_eq $N "$(dest 127\\.0\\.0\\.1 9101)" "connects to port 9101 (first seen)"
assert_eq $N "$(dest 127\\.0\\.0\\.1 9102)" "connects to port 9102 (second seen)"
assert_eq "" "$(dest 127\\.0\\.0\\.1 '910[34]')" "series of destinations past --top"
assert_eq $((2 * N)) "$(dest other other)" "connects under daddr=\"other\""

# The folded rows are out of the kernel's map: this pid keeps 2 rows there.
map=$(cat /proc/$NT_MON_PID/fdinfo/* 2>/dev/null | sed -n 's/^map_id:[[:space:]]*//p' | sort -un |
	while read -r id; do
		if [ "$(bpftool -j map show id "$id" | jq -r .name)" = dns_stats ]; then echo "$id"; fi
	done)
assert_match '^[0-9]+$' "$map" "this monitor's dns_stats map id"
rows=$(bpftool -j map dump id "$map" | jq --argjson p "$DP" '[.[] | select(.formatted.key.pid == $p)] | length')
assert_eq 2 "$rows" "rows of pid $DP in the kernel's dns_stats"
