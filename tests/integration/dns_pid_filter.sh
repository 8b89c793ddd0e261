#!/usr/bin/env bash
# per-node: yes
# -p PID: probes placed in that process only (the JSON probe records say so),
# lookups of other node processes running the same binary not counted; and
# `interval count` prints count reports whose counts add up.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"

nt_netns_create
nt_dns_start "$NT_NS" '{"fast.nodetap.test":{"a":"127.0.0.1"},"other.nodetap.test":{"a":"127.0.0.1"}}'

# Two clients wait for a go file, then make their lookups a few at a time.
go=$TEST_TMP/go
bg ip netns exec "$NT_NS" "$NODE" "$TESTS_LIB/dns-client.js" --count 20 --wait-file "$go" \
	--pace-ms 100 --ready-file "$TEST_TMP/a.ready" --out "$TEST_TMP/a.json" fast.nodetap.test
a=$BG_PID
bg ip netns exec "$NT_NS" "$NODE" "$TESTS_LIB/dns-client.js" --count 20 --wait-file "$go" \
	--pace-ms 100 --ready-file "$TEST_TMP/b.ready" --out "$TEST_TMP/b.json" other.nodetap.test
b=$BG_PID
wait_for 10 "clients ready" test -s "$TEST_TMP/a.ready" -a -s "$TEST_TMP/b.ready"

out=$TEST_TMP/nodetap.jsonl
# 3 reports of 1 s; the clients take about 2 s, so the last report is partial.
"$REPO/nodetap" dns --json -p "$a" 1 3 >"$out" 2>"$TEST_TMP/stderr" &
nodetap=$!
on_exit kill_wait $nodetap
wait_for 10 "probes placed" grep -q '"type":"probe"' "$out"
touch "$go"
wait $a || fail "client a failed"
wait $b || fail "client b failed"
wait $nodetap || fail "nodetap exited $?: $(cat "$TEST_TMP/stderr")"

assert_eq 0 "$(jq -s '[.[] | select(.type=="probe" and .pid != '"$a"')] | length' "$out")" "probes not limited to pid $a"
assert_eq 3 "$(jq -s '[.[] | select(.type=="probe" and .placed)] | length' "$out")" "probes placed (start, completion, return)"
assert_eq 3 "$(jq -s '[.[] | select(.type=="report")] | length' "$out")" "reports"
assert_eq 20 "$(jq -s '[.[] | select(.type=="dns_summary" and .host=="fast.nodetap.test") | .count] | add' "$out")" "lookups of pid $a over all reports"
assert_eq 0 "$(jq -s '[.[] | select(.type=="dns_summary" and .host=="other.nodetap.test")] | length' "$out")" "records of the other process"
assert_ge "$(jq -s '[.[] | select(.type=="dns_summary")] | length' "$out")" 2 "reports with lookups (the counts are per interval)"
