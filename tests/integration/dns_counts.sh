#!/usr/bin/env bash
# per-node: yes
# nodetap dns against ground truth: a DNS server this test runs answers
# fast.nodetap.test at once, slow.nodetap.test after 50 ms, and
# missing.nodetap.test with NXDOMAIN. A client makes N lookups of each; nodetap
# must count exactly N per name, put every lookup's latency between the
# server's delay and the client's own measurement, count every missing one
# as EAI_NONAME, and lose nothing.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"

N=12
nt_netns_create
nt_dns_start "$NT_NS" '{"fast.nodetap.test":{"a":"127.0.0.1"},
	"slow.nodetap.test":{"a":"127.0.0.1","delay_ms":50},
	"missing.nodetap.test":{"rcode":"NXDOMAIN"}}'

out=$TEST_TMP/nodetap.jsonl
client=$TEST_TMP/client.json
"$REPO/nodetap" dns --json -- ip netns exec "$NT_NS" "$NODE" "$TESTS_LIB/dns-client.js" \
	--count $N --mode sequential --out "$client" \
	fast.nodetap.test slow.nodetap.test missing.nodetap.test >"$out" 2>"$TEST_TMP/stderr" ||
	fail "nodetap exited $?: $(cat "$TEST_TMP/stderr")"
nt_dns_stop

# Ground truth first: the client and the server agree on what happened.
assert_jq "$client" '.names["slow.nodetap.test"].ok' $N "client: slow lookups that succeeded"
assert_jq "$client" '.names["missing.nodetap.test"].failed.ENOTFOUND' $N "client: missing lookups that failed"
assert_eq $N "$(nt_dns_count slow.nodetap.test A)" "server: A queries for slow.nodetap.test"

sum() { jq -s --arg h "$1" "[.[] | select(.type==\"dns_summary\" and .host==\$h) | $2] | add // 0" "$out"; }
for h in fast slow missing; do
	assert_eq $N "$(sum $h.nodetap.test .count)" "nodetap: lookups of $h.nodetap.test"
done
assert_eq 0 "$(sum fast.nodetap.test .errors)" "nodetap: errors of fast.nodetap.test"
assert_eq $N "$(sum missing.nodetap.test .errors)" "nodetap: errors of missing.nodetap.test"
assert_eq $N "$(sum missing.nodetap.test '.errors_by_status.EAI_NONAME')" "nodetap: EAI_NONAME of missing.nodetap.test"

# Latency: each lookup's time as nodetap measures it (uv_getaddrinfo to its
# completion) lies between the server's delay and what the client measured
# around the same call (dns.lookup() to its callback), so no lookup may sit
# in a bucket wholly below the delay or wholly above the client's slowest.
# (Not "every slow lookup in 32-65 ms": on a loaded machine the client itself
# sees 70 ms, and so may nodetap, rightly.)
client_max_us() { jq --arg h "$1" '.names[$h].latency_ms.max * 1000 | ceil' "$client"; }
slow_max=$(client_max_us slow.nodetap.test) fast_max=$(client_max_us fast.nodetap.test)
below=$(sum slow.nodetap.test '([.latency_hist.buckets[] | select(.high < 50000) | .count] | add // 0)')
assert_eq 0 "$below" "nodetap: slow lookups in buckets below the server's 50 ms"
above=$(sum slow.nodetap.test "([.latency_hist.buckets[] | select(.low > $slow_max) | .count] | add // 0)")
assert_eq 0 "$above" "nodetap: slow lookups in buckets above the client's slowest ($slow_max us)"
above=$(sum fast.nodetap.test "([.latency_hist.buckets[] | select(.low > $fast_max) | .count] | add // 0)")
assert_eq 0 "$above" "nodetap: fast lookups in buckets above the client's slowest ($fast_max us)"
echo "dns_counts: client's slowest lookups: slow ${slow_max} us, fast ${fast_max} us"
avg=$(sum slow.nodetap.test .avg_ns)
assert_ge "$avg" 50000000 "nodetap: average latency of slow.nodetap.test (ns)"
assert_le "$avg" $((slow_max * 1000)) "nodetap: average latency of slow.nodetap.test (ns), at most the client's slowest"

# The lookups all came from the client process, named "node".
assert_eq 1 "$(jq -s '[.[] | select(.type=="dns_summary") | .pid] | unique | length' "$out")" "processes seen"
# v24 names its main thread "MainThread"; earlier majors leave it "node".
assert_match '^(node|MainThread)$' "$(jq -rs '[.[] | select(.type=="dns_summary") | .comm] | unique | join(",")' "$out")" "comm"
# Nothing lost, and the report says so.
assert_jq "$out" 'select(.type=="losses") | [.[] | numbers] | add' 0 "losses"
assert_jq "$out" 'select(.type=="report") | .final' true "final report record"
assert_jq "$out" 'select(.type=="report") | .lookups' $((3 * N)) "lookups in the report"
