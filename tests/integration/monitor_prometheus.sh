#!/usr/bin/env bash
# timeout: 240
# nodetap monitor scraped by a real Prometheus (Debian's prometheus, on
# loopback, scraping every second) while workloads do known work: a DNS
# server in a namespace of the test's answers slow.nodetap.test after 50 ms,
# fast.nodetap.test at once and missing.nodetap.test with NXDOMAIN; a peer
# 20 ms away (delay line) accepts TCP connects, a closed port refuses them.
# The test asks Prometheus's HTTP API for the exact lookup and connect
# counts, and for latency buckets that agree with the injected delays; a
# hostname with a quote, a backslash and a newline must neither break the
# scrape nor forge a label.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"
. "$TESTS_LIB/monitor.sh"

N=8   # lookups of each name
M=6   # connects that succeed (20 ms away)
R=3   # connects refused
EVIL=$'ev"il\\x\nname'

nt_netns_create
NS=$NT_NS
nt_dns_start "$NS" '{"fast.nodetap.test":{"a":"127.0.0.1"},
	"slow.nodetap.test":{"a":"127.0.0.1","delay_ms":50},
	"missing.nodetap.test":{"rcode":"NXDOMAIN"}}'
nt_netns_peer "$NS" 20
FAR=$NT_PEER_ADDR
bg ip netns exec "$NT_PEER_NS" "$NODE" -e '
	require("net").createServer((s) => { s.on("error", () => {}); s.end(); }).listen(8080, process.argv[1]);
	setTimeout(() => process.exit(0), 200000);' "$FAR"
wait_for 10 "server listening" ip netns exec "$NS" bash -c "exec 3<>/dev/tcp/$FAR/8080"

nt_monitor_start
nt_prometheus_start
expect_promql 60 'up{job="nodetap"}' 1 "nodetap scraped by Prometheus"

# The workloads start after the monitor: it finds them by their exec.
client() { ip netns exec "$NS" "$NODE" "$@"; }
client "$TESTS_LIB/dns-client.js" --count $N --mode sequential --ready-file "$TEST_TMP/slow.pid" \
	--out "$TEST_TMP/slow.json" slow.nodetap.test || fail "slow client exited $?"
client "$TESTS_LIB/dns-client.js" --count $N --mode sequential --ready-file "$TEST_TMP/fast.pid" \
	--out "$TEST_TMP/fast.json" fast.nodetap.test missing.nodetap.test || fail "fast client exited $?"
client "$TESTS_LIB/dns-client.js" --count 1 --ready-file "$TEST_TMP/evil.pid" \
	--out "$TEST_TMP/evil.json" "$EVIL" || fail "evil client exited $?"
client "$TESTS_LIB/connect-client.js" --out "$TEST_TMP/conn.json" "$FAR:8080:$M" "127.0.0.1:8081:$R" ||
	fail "connect client exited $?"
SP=$(cat "$TEST_TMP/slow.pid") FP=$(cat "$TEST_TMP/fast.pid") EP=$(cat "$TEST_TMP/evil.pid")

# Ground truth: the clients and the server agree on what happened.
assert_jq "$TEST_TMP/slow.json" '.names["slow.nodetap.test"].ok' $N "client: slow lookups"
assert_jq "$TEST_TMP/fast.json" '.names["fast.nodetap.test"].ok' $N "client: fast lookups"
assert_jq "$TEST_TMP/fast.json" '.names["missing.nodetap.test"].failed.ENOTFOUND' $N "client: missing lookups"
assert_jq "$TEST_TMP/conn.json" ".targets[\"$FAR:8080\"].connected" $M "client: connects"
assert_jq "$TEST_TMP/conn.json" '.targets["127.0.0.1:8081"].errors.ECONNREFUSED' $R "client: refused"
CP=$(jq -r .pid "$TEST_TMP/conn.json")

# Exact counts, through Prometheus.
expect_promql 30 "nodetap_dns_lookups_total{pid=\"$SP\",host=\"slow.nodetap.test\",result=\"ok\"}" $N "slow lookups"
expect_promql 30 "nodetap_dns_lookups_total{pid=\"$FP\",host=\"fast.nodetap.test\",result=\"ok\"}" $N "fast lookups"
expect_promql 30 "nodetap_dns_lookups_total{pid=\"$FP\",host=\"missing.nodetap.test\",result=\"EAI_NONAME\"}" $N "missing lookups, EAI_NONAME"
expect_promql 30 "sum(nodetap_dns_lookups_total{pid=\"$FP\"})" $((2 * N)) "every lookup of the fast client"
expect_promql 30 "nodetap_tcp_connects_total{pid=\"$CP\",daddr=\"$FAR\",dport=\"8080\",result=\"established\"}" $M "connects established"
expect_promql 30 "nodetap_tcp_connects_total{pid=\"$CP\",daddr=\"127.0.0.1\",dport=\"8081\",result=\"refused\"}" $R "connects refused"
expect_promql 30 "sum(nodetap_tcp_connects_total{pid=\"$CP\"})" $((M + R)) "every connect of the client"

# Latency buckets against the injected delays: no slow lookup under 32 ms
# (it waits 50 ms for its answer), all of them under 262 ms (a generous
# bound for a loaded machine); connects 20 ms away: none under 16 ms.
expect_promql 30 "nodetap_dns_lookup_duration_seconds_count{pid=\"$SP\"}" $N "slow lookups timed"
expect_promql 30 "nodetap_dns_lookup_duration_seconds_bucket{pid=\"$SP\",le=\"0.032768\"}" 0 "slow lookups under 32 ms"
expect_promql 30 "nodetap_dns_lookup_duration_seconds_bucket{pid=\"$SP\",le=\"0.262144\"}" $N "slow lookups under 262 ms"
expect_promql 30 "nodetap_dns_lookup_duration_seconds_bucket{pid=\"$SP\",le=\"+Inf\"}" $N "slow lookups in +Inf"
expect_promql 30 "nodetap_dns_lookup_duration_seconds_sum{pid=\"$SP\"} >= bool $((N * 50))e-3" 1 "slow lookups' sum >= N x 50 ms"
expect_promql 30 "nodetap_tcp_connect_duration_seconds_count{pid=\"$CP\",dport=\"8080\"}" $M "connects timed"
expect_promql 30 "nodetap_tcp_connect_duration_seconds_bucket{pid=\"$CP\",dport=\"8080\",le=\"0.016384\"}" 0 "connects under 16 ms"
expect_promql 30 "nodetap_tcp_connect_duration_seconds_bucket{pid=\"$CP\",dport=\"8080\",le=\"+Inf\"}" $M "connects in +Inf"
expect_promql 30 "histogram_quantile(0.5, nodetap_dns_lookup_duration_seconds_bucket{pid=\"$SP\"}) > bool 0.032768" 1 "median slow lookup over 32 ms"

# The hostile name: one series, its label the escaped text (escape.h: the
# backslash doubled, the newline as \x0a), and the scrape still whole.
want_label='ev"il\\x\x0aname'
expect_promql 30 "count(nodetap_dns_lookups_total{pid=\"$EP\"})" 1 "series of the hostile name"
got_label=$(curl -sf "$NT_PROM_URL/api/v1/query" --data-urlencode "query=nodetap_dns_lookups_total{pid=\"$EP\"}" |
	jq -r '.data.result[0].metric.host')
assert_eq "$want_label" "$got_label" "host label of the hostile name"
assert_eq 1 "$(nt_promql "count(nodetap_dns_lookups_total{pid=\"$EP\"}) by (comm)")" "labels of the hostile name's series (none forged)"
expect_promql 10 'up{job="nodetap"}' 1 "scrape still healthy after the hostile name"

# Nothing lost on the way, and the agent reports itself.
expect_promql 10 'nodetap_lost_events_total{reason="map_full"}' 0 "map_full losses"
expect_promql 10 'nodetap_lost_events_total{reason="ring_buffer_drops"}' 0 "ring buffer drops"
assert_match '^[0-9.e+-]+$' "$(nt_promql 'process_cpu_seconds_total{job="nodetap"}')" "agent CPU seconds"
assert_ge "$(nt_promql 'process_resident_memory_bytes{job="nodetap"}')" 1000000 "agent RSS bytes"
log "agent: $(nt_promql 'process_cpu_seconds_total{job="nodetap"}') s CPU, $(nt_promql 'process_resident_memory_bytes{job="nodetap"}') bytes RSS; scrape took $(nt_promql 'scrape_duration_seconds{job="nodetap"}') s"
