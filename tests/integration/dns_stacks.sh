#!/usr/bin/env bash
# per-node: yes
# --stacks names the caller: with node --perf-basic-prof, the stack recorded at
# uv_getaddrinfo shows the client's JavaScript function lookupFromApp, and its
# innermost frame is uv_getaddrinfo itself, named from node's symbol table.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"

N=6
nt_netns_create
nt_dns_start "$NT_NS" '{"fast.nodetap.test":{"a":"127.0.0.1"}}'
out=$TEST_TMP/nodetap.jsonl
# cwd: the perf map goes to /tmp/perf-PID.map whatever the cwd; remove it after.
"$REPO/nodetap" dns --stacks --json -- ip netns exec "$NT_NS" "$NODE" --perf-basic-prof --interpreted-frames-native-stack \
	"$TESTS_LIB/dns-client.js" --count $N --out "$TEST_TMP/client.json" fast.nodetap.test \
	>"$out" 2>"$TEST_TMP/stderr" || fail "nodetap exited $?: $(cat "$TEST_TMP/stderr")"
pid=$(jq -r .pid "$TEST_TMP/client.json")
rm -f "/tmp/perf-$pid.map"

summary=$(jq -c 'select(.type=="dns_summary" and .host=="fast.nodetap.test")' "$out")
assert_ne "" "$summary" "dns_summary for fast.nodetap.test"
assert_eq $N "$(jq '[.stacks[].count] | add' <<<"$summary")" "lookups summed over stacks"
assert_eq uv_getaddrinfo "$(jq -r '.stacks[0].frames[0].name' <<<"$summary")" "innermost frame"
assert_eq native "$(jq -r '.stacks[0].frames[0].kind' <<<"$summary")" "innermost frame kind"
js=$(jq -r '[.stacks[].frames[] | select(.kind=="js") | .name] | join("\n")' <<<"$summary")
assert_contains lookupFromApp "$js" "JavaScript frames of the stack"
assert_contains dns-client.js "$js" "JavaScript frames name their file"
# Every frame has a name: none blank.
assert_eq 0 "$(jq '[.stacks[].frames[] | select(.name == "")] | length' <<<"$summary")" "frames without a name"
assert_jq "$out" 'select(.type=="losses") | .stacks_not_taken' 0 "stacks not taken"

# The text report shows the same, readable.
"$REPO/nodetap" dns --stacks -- ip netns exec "$NT_NS" "$NODE" --perf-basic-prof --interpreted-frames-native-stack \
	"$TESTS_LIB/dns-client.js" --count 2 --out "$TEST_TMP/client2.json" fast.nodetap.test \
	>"$TEST_TMP/text" 2>"$TEST_TMP/stderr" || fail "nodetap (text) exited $?: $(cat "$TEST_TMP/stderr")"
rm -f "/tmp/perf-$(jq -r .pid "$TEST_TMP/client2.json").map"
assert_match "[12] lookups? from:" "$(cat "$TEST_TMP/text")" "text report"
assert_match 'lookupFromApp .*dns-client\.js:[0-9]+.* \[js\*?\]' "$(cat "$TEST_TMP/text")" "JS frame in the text report"
