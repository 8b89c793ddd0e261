#!/usr/bin/env bash
# per-node: yes
# timeout: 120
#
# dns_ground_truth: proves the DNS harness that the nodetap DNS tests compare
# against. In a namespace of its own, with tests/lib/dns-server.js answering
#   fast.nodetap.test     A 127.0.0.1 at once
#   slow.nodetap.test     A 127.0.0.1 after 50 ms
#   missing.nodetap.test  NXDOMAIN
# glibc (getent) and node's dns.lookup (tests/lib/dns-client.js, family 4)
# resolve through the test server; the client sees the delays the server
# applies (slow >= 50 ms, fast < 20 ms), missing names fail with ENOTFOUND,
# the server receives exactly one A query per lookup and no AAAA query, and
# the client's CLOCK_MONOTONIC lookup intervals contain the server's arrival
# times. Then it cleans up and checks that nothing is left behind.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"

SEQ=${DNS_GT_SEQ_COUNT:-5}  # sequential lookups of each name
CONC=${DNS_GT_CONC_COUNT:-8} # concurrent lookups of each name
FAST=fast.nodetap.test
SLOW=slow.nodetap.test
MISSING=missing.nodetap.test

log "node $NODE (v$NODE_MAJOR: $("$NODE" --version))"
nt_netns_create
NS=$NT_NS
nt_dns_start "$NS" "{
	\"$FAST\": {\"a\": \"127.0.0.1\"},
	\"$SLOW\": {\"a\": \"127.0.0.1\", \"delay_ms\": 50},
	\"$MISSING\": {\"rcode\": \"NXDOMAIN\"}}"

# 1. glibc in the namespace resolves through the test server.
out=$(ip netns exec "$NS" getent ahostsv4 "$FAST") || fail "getent ahostsv4 $FAST failed (exit $?)"
assert_match "^127\.0\.0\.1 +STREAM $FAST" "$out" "getent ahostsv4 $FAST"
rc=0
ip netns exec "$NS" getent ahostsv4 "$MISSING" >/dev/null || rc=$?
assert_eq 2 "$rc" "getent ahostsv4 $MISSING exit status (2: not found)"

# 2. Sequential lookups with node: latencies.
client() {
	ip netns exec "$NS" "$NODE" "$TESTS_LIB/dns-client.js" --timeout-ms 20000 "$@"
}
client --count "$SEQ" --mode sequential --per-lookup --out "$TEST_TMP/seq.json" \
	"$FAST" "$SLOW" "$MISSING"
S=$TEST_TMP/seq.json
log "sequential: $(jq -c '.names | map_values({ok, failed, latency_ms})' "$S")"
assert_jq "$S" .node "$("$NODE" --version)" "node version the client ran on"
assert_jq "$S" .timed_out false
for n in "$FAST" "$SLOW"; do
	assert_jq "$S" ".names[\"$n\"].ok" "$SEQ" "sequential lookups of $n that succeeded"
	assert_jq "$S" ".names[\"$n\"].failed | length" 0 "sequential lookups of $n that failed"
	assert_jq "$S" ".names[\"$n\"].addresses | join(\",\")" 127.0.0.1 "addresses of $n"
done
assert_jq "$S" ".names[\"$MISSING\"].ok" 0 "lookups of $MISSING that succeeded"
assert_jq "$S" ".names[\"$MISSING\"].failed | tojson" "{\"ENOTFOUND\":$SEQ}" "errors of $MISSING"
assert_ge "$(jqv "$S" ".names[\"$SLOW\"].latency_ms.min")" 50 "fastest lookup of $SLOW (ms)"
assert_lt "$(jqv "$S" ".names[\"$SLOW\"].latency_ms.max")" 1000 "slowest lookup of $SLOW (ms)"
for n in "$FAST" "$MISSING"; do
	assert_lt "$(jqv "$S" ".names[\"$n\"].latency_ms.median")" 20 "median lookup of $n (ms)"
	# Even the first lookup (threadpool start, libnss_dns loading) is well
	# apart from the slow name's.
	assert_lt "$(jqv "$S" ".names[\"$n\"].latency_ms.max")" 50 "slowest lookup of $n (ms)"
done

# 3. Concurrent lookups: all issued at once (libuv's 4 threadpool threads
# resolve them), each still answered.
client --count "$CONC" --mode concurrent --out "$TEST_TMP/conc.json" "$FAST" "$SLOW" "$MISSING"
C=$TEST_TMP/conc.json
log "concurrent: $(jq -c '.names | map_values({ok, failed, latency_ms})' "$C")"
assert_jq "$C" ".names[\"$FAST\"].ok" "$CONC" "concurrent lookups of $FAST that succeeded"
assert_jq "$C" ".names[\"$SLOW\"].ok" "$CONC" "concurrent lookups of $SLOW that succeeded"
assert_jq "$C" ".names[\"$MISSING\"].failed | tojson" "{\"ENOTFOUND\":$CONC}" "concurrent errors of $MISSING"
assert_ge "$(jqv "$C" ".names[\"$SLOW\"].latency_ms.min")" 50 "fastest concurrent lookup of $SLOW (ms)"

# 4. Family 0 (no hints): glibc asks A and AAAA; a known name's AAAA is an
# empty NOERROR answer, so the lookup still succeeds with the A record.
client --count 1 --family 0 --out "$TEST_TMP/any.json" "$FAST"
assert_jq "$TEST_TMP/any.json" ".names[\"$FAST\"].addresses | join(\",\")" 127.0.0.1 "family 0 lookup of $FAST"

# 5. What reached the server.
nt_dns_stop
Q=$NT_DNS_COUNTS
log "server counts: $(cat "$Q")"
assert_eq $((1 + SEQ + CONC + 1)) "$(nt_dns_count "$FAST" A)" "A queries for $FAST (getent + sequential + concurrent + family 0)"
assert_eq 1 "$(nt_dns_count "$FAST" AAAA)" "AAAA queries for $FAST (only the family 0 lookup asks)"
assert_eq $((SEQ + CONC)) "$(nt_dns_count "$SLOW" A)" "A queries for $SLOW"
assert_eq $((1 + SEQ + CONC)) "$(nt_dns_count "$MISSING" A)" "A queries for $MISSING"
for n in "$SLOW" "$MISSING"; do
	assert_eq 0 "$(nt_dns_count "$n" AAAA)" "AAAA queries for $n (family 4 asks none)"
done
# Nothing else under nodetap.test; other names only the readiness probe and,
# on a host whose name has a domain, glibc's search-list retries of MISSING.
others=$(jqv "$Q" '.queries | keys[] | select(. != "ready.nodetap.invalid")
	| select(endswith(".nodetap.test") | not) | select(startswith($m + ".") | not)' --arg m "$MISSING")
assert_eq "" "$others" "unexpected names queried"
assert_eq "3" "$(jq -r '[.queries | keys[] | select(endswith(".nodetap.test"))] | length' "$Q")" \
	"names under nodetap.test that were queried"
assert_jq "$Q" .malformed 0 "malformed queries"
assert_jq "$Q" .tcp 0 "queries over TCP"

# 6. One clock: every sequential lookup's [start, end] (CLOCK_MONOTONIC in the
# client) holds exactly one server arrival of its name (CLOCK_MONOTONIC in the
# server).
bad=$(jq -r --slurpfile q <(jq -s . "$NT_DNS_LOG") '
	.lookups[] as $l
	| [$q[0][] | select(.name == $l.name and .type == "A")
	   | (.t_ns | tonumber) as $t
	   | select($t >= ($l.start_ns | tonumber) and $t <= ($l.end_ns | tonumber))] | length
	| select(. != 1) | "\($l.name) [\($l.start_ns), \($l.end_ns)]: \(.) arrivals"' "$S")
assert_eq "" "$bad" "server arrivals inside the client's lookup intervals"
assert_eq $((3 * SEQ)) "$(jq '.lookups | length' "$S")" "lookups in the sequential summary"

# 7. Nothing left behind.
ns=$NS
run_cleanups
assert_no_procs_left
if ip netns list | awk '{print $1}' | grep -qxF "$ns"; then fail "namespace $ns still exists"; fi
[ ! -e "/etc/netns/$ns" ] || fail "/etc/netns/$ns still exists"
log "ok"
