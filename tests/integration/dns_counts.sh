#!/usr/bin/env bash
# per-node: yes
# nodetap dns against ground truth: a DNS server this test runs answers
# fast.nodetap.test at once, slow.nodetap.test after 50 ms, and
# missing.nodetap.test with NXDOMAIN. A client makes N lookups of each; nodetap
# must count exactly N per name, put every slow lookup in the 32-65 ms bucket
# and every fast one under 16 ms, count every missing one as EAI_NONAME, and
# lose nothing.
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

# Latency: 50 ms lands in the 32768-65535 us bucket, every time.
slow_in_bucket=$(sum slow.nodetap.test '(.latency_hist.buckets[] | select(.low==32768) | .count)')
assert_eq $N "$slow_in_bucket" "nodetap: slow lookups in the 32-65 ms bucket"
fast_over=$(sum fast.nodetap.test '([.latency_hist.buckets[] | select(.high >= 16384) | .count] | add // 0)')
assert_eq 0 "$fast_over" "nodetap: fast lookups at 16 ms or more"
avg=$(sum slow.nodetap.test .avg_ns)
assert_ge "$avg" 50000000 "nodetap: average latency of slow.nodetap.test (ns)"

# The lookups all came from the client process, named "node".
assert_eq 1 "$(jq -s '[.[] | select(.type=="dns_summary") | .pid] | unique | length' "$out")" "processes seen"
# v24 names its main thread "MainThread"; earlier majors leave it "node".
assert_match '^(node|MainThread)$' "$(jq -rs '[.[] | select(.type=="dns_summary") | .comm] | unique | join(",")' "$out")" "comm"
# Nothing lost, and the report says so.
assert_jq "$out" 'select(.type=="losses") | [.[] | numbers] | add' 0 "losses"
assert_jq "$out" 'select(.type=="report") | .final' true "final report record"
assert_jq "$out" 'select(.type=="report") | .lookups' $((3 * N)) "lookups in the report"
