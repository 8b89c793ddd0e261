#!/usr/bin/env bash
# per-node: yes
# --events: one dns_lookup record per lookup, as it completes, on the same
# clock as the client's own (CLOCK_MONOTONIC): each start nodetap reports lies
# between the client's timestamps around that lookup.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"

N=8
nt_netns_create
nt_dns_start "$NT_NS" '{"slow.nodetap.test":{"a":"127.0.0.1","delay_ms":30},
	"missing.nodetap.test":{"rcode":"NXDOMAIN"}}'
out=$TEST_TMP/nodetap.jsonl
client=$TEST_TMP/client.json
"$REPO/nodetap" dns --events --json -- ip netns exec "$NT_NS" "$NODE" "$TESTS_LIB/dns-client.js" \
	--count $N --mode concurrent --per-lookup --out "$client" \
	slow.nodetap.test missing.nodetap.test >"$out" 2>"$TEST_TMP/stderr" ||
	fail "nodetap exited $?: $(cat "$TEST_TMP/stderr")"

events=$(jq -s '[.[] | select(.type=="dns_lookup")] | length' "$out")
assert_eq $((2 * N)) "$events" "dns_lookup events"
assert_eq $N "$(jq -s '[.[] | select(.type=="dns_lookup" and .host=="missing.nodetap.test" and .status_name=="EAI_NONAME")] | length' "$out")" "EAI_NONAME events"
assert_eq $N "$(jq -s '[.[] | select(.type=="dns_lookup" and .host=="slow.nodetap.test" and .status==0 and .latency_ns >= 30000000)] | length' "$out")" "slow events with status 0 and >= 30 ms"
assert_eq 0 "$(jq -s '[.[] | select(.type=="dns_lookup" and .sync)] | length' "$out")" "events flagged sync"
# Each event's end is its start plus its latency.
assert_eq 0 "$(jq -s '[.[] | select(.type=="dns_lookup" and .time_ns != .start_ns + .latency_ns)] | length' "$out")" "events whose times disagree"

# One clock: every lookup the client timed has a nodetap start inside its own
# window [the client's clock before dns.lookup, its clock in the callback].
outside=$(jq -n --slurpfile c "$client" --slurpfile n "$out" '
	[$n[] | select(.type=="dns_lookup") | .start_ns] as $starts |
	[$c[0].lookups[] | (.start_ns | tonumber) as $s | (.end_ns | tonumber) as $e |
	 select([$starts[] | select(. >= $s and . <= $e)] | length == 0)] | length')
assert_eq 0 "$outside" "client lookups with no nodetap start inside their window"
