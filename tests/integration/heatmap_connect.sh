#!/usr/bin/env bash
# nodetap connect --heatmap FILE.svg: N connects to a server on loopback,
# then N to a server 30 ms away (the delay line of netns.sh), with
# 0.5-second columns. The SVG's embedded data must count every connect once
# and put the far ones in rows of 28 ms and more (a connect there cannot
# take less than the 30 ms round trip) and the near ones far below, in
# columns that do not begin after the last far connect. The HTML report of
# the same run lists every connect with its stack: the clients connect to
# addresses (no lookup), so the stack is the one at connect(), made by
# node's TCPWrap::Connect from its internalConnect.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"

N=5
nt_netns_create
NS=$NT_NS
nt_netns_peer "$NS" 30
FAR=$NT_PEER_ADDR
bg ip netns exec "$NT_PEER_NS" "$NODE" -e '
	require("net").createServer((s) => { s.on("error", () => {}); s.end(); }).listen(8080, process.argv[1]);
	setTimeout(() => process.exit(0), 60000);' "$FAR"
bg ip netns exec "$NS" "$NODE" -e '
	require("net").createServer((s) => { s.on("error", () => {}); s.end(); }).listen(8080, "127.0.0.1");
	setTimeout(() => process.exit(0), 60000);'
wait_for 10 "servers listening" ip netns exec "$NS" bash -c "exec 3<>/dev/tcp/$FAR/8080 && exec 4<>/dev/tcp/127.0.0.1/8080"

svg=$TEST_TMP/connect.svg
client() { ip netns exec "$NS" "$NODE" --perf-basic-prof --interpreted-frames-native-stack "$TESTS_LIB/connect-client.js" "$@"; }
html=$TEST_TMP/connect.html
"$REPO/nodetap" connect --heatmap "$svg" --heatmap-column 0.5 --html "$html" -- bash -c "
	$(declare -f client); NS=$NS NODE=$NODE TESTS_LIB=$TESTS_LIB
	client --out $TEST_TMP/near.json 127.0.0.1:8080:$N &&
	client --out $TEST_TMP/far.json $FAR:8080:$N" \
	>"$TEST_TMP/stdout" 2>"$TEST_TMP/stderr" || fail "nodetap exited $?: $(cat "$TEST_TMP/stderr")"
assert_jq "$TEST_TMP/near.json" '.targets["127.0.0.1:8080"].connected' $N "client: near connects"
assert_jq "$TEST_TMP/far.json" ".targets[\"$FAR:8080\"].connected" $N "client: far connects"
# (V8 never removes its perf map.)
rm -f "/tmp/perf-$(jqv "$TEST_TMP/near.json" .pid).map" "/tmp/perf-$(jqv "$TEST_TMP/far.json" .pid).map"

xmllint --noout "$svg" ||
	fail "$svg is not well-formed XML"
data=$TEST_TMP/heatmap.json
sed -n '/<script type="application\/json" id="nodetap-heatmap-data">/,/<\/script>/p' "$svg" | sed '1d;$d' >"$data"
assert_jq "$data" '.subcommand' connect "subcommand"
assert_jq "$data" '.column_ns' 500000000 "column width (--heatmap-column 0.5)"
assert_jq "$data" '.events' $((2 * N)) "events"
assert_jq "$data" '[.cells[][2]] | add' $((2 * N)) "sum of the cells"
assert_jq "$data" '.ringbuf_drops + .not_counted' 0 "events lost"
far_rows='. as $d | [.cells[] | . as [$c, $r, $n] | select(($d.rows[] | select(.row == $r) | .low_ns) >= 28000000) | $n] | add // 0'
assert_jq "$data" "$far_rows" $N "connects in rows of 28 ms and more"
near_rows='. as $d | [.cells[] | . as [$c, $r, $n] | select(($d.rows[] | select(.row == $r) | .high_ns) <= 16384000) | $n] | add // 0'
assert_jq "$data" "$near_rows" $N "connects in rows under 16 ms"
# Near ones came first: no near cell in a column after the last far cell.
assert_jq "$data" '. as $d | ([.cells[] | . as [$c, $r, $n] | select(($d.rows[] | select(.row == $r) | .high_ns) <= 16384000) | $c] | max)
	<= ([.cells[] | . as [$c, $r, $n] | select(($d.rows[] | select(.row == $r) | .low_ns) >= 28000000) | $c] | min)' true \
	"near connects before far ones"

# The HTML report: every connect, each with the stack at its connect().
ev=$TEST_TMP/events.json
sed -n '/<script type="application\/json" id="nodetap-events">/,/<\/script>/p' "$html" | sed '1d;$d' >"$ev"
assert_jq "$ev" '.events | length' $((2 * N)) "connects in the HTML report"
assert_jq "$ev" '.with_stack' $((2 * N)) "connects with a stack"
jq -c '. as $d | [.events[] | [$d.stacks[.[8]][2][] | $d.frames[.] | select(.[1] != "native") | .[0]]]' "$ev" >&2
assert_jq "$ev" '. as $d | [.events[] | select([$d.stacks[.[8]][2][] | $d.frames[.][0]] |
	(any(test("^node::TCPWrap::Connect")) and any(test("^internalConnect node:net:"))) | not)] | length' 0 \
	"connects whose stack lacks node::TCPWrap::Connect or internalConnect"
grep -q '<svg version="1.1" class="flamegraph"' "$html" || fail "no flame graph in the HTML report"
