#!/usr/bin/env bash
# timeout: 180
# nodetap dns --html FILE, opened in a real browser: headless Chromium,
# driven through the DevTools protocol (tests/lib/cdp-click.js) the way a
# person would: load the page, click the hottest heat map cell with a mouse
# event at its place on screen, read what the page lists, take a screenshot.
# The workload: shift.nodetap.test (5 ms answers for 20 queries, then 50 ms)
# and a hostname that is markup, '<i>x</i>.nodetap.test' (NXDOMAIN), 30
# lookups each. Checked: no console error or exception; the click lists
# exactly the cell's events, each inside the cell's latency and time range;
# the hostile name shows as text, never as markup; every lookup is in the
# page's data; each listed lookup shows its stack, which names lookupFromApp,
# the workload's function that calls dns.lookup (node runs with
# --perf-basic-prof); so does the page's flame graph, drawn by its script.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"

N=30
HOSTILE='<i>x</i>.nodetap.test'
nt_netns_create
nt_dns_start "$NT_NS" '{"shift.nodetap.test":{"a":"127.0.0.1","delay_ms":5,
	"then":{"after":20,"delay_ms":50}}}'

html=$TEST_TMP/report.html
"$REPO/nodetap" dns --html "$html" -- ip netns exec "$NT_NS" "$NODE" --perf-basic-prof \
	--interpreted-frames-native-stack "$TESTS_LIB/dns-client.js" \
	--count $N --mode sequential --pace-ms 20 --out "$TEST_TMP/client.json" \
	shift.nodetap.test "$HOSTILE" >"$TEST_TMP/stdout" 2>"$TEST_TMP/stderr" ||
	fail "nodetap exited $?: $(cat "$TEST_TMP/stderr")"
assert_jq "$TEST_TMP/client.json" '.names["shift.nodetap.test"].ok' $N "client: lookups of shift.nodetap.test"
assert_jq "$TEST_TMP/client.json" ".names[\"$HOSTILE\"].failed.ENOTFOUND" $N "client: lookups of the hostile name"
assert_contains "HTML report of $((2 * N)) events ($((2 * N)) listed)" "$(cat "$TEST_TMP/stderr")" "closing line"

# The page's data: every lookup, in the map and in the event list.
script_json() { sed -n "/<script type=\"application\/json\" id=\"$1\">/,/<\/script>/p" "$html" | sed '1d;$d'; }
script_json nodetap-heatmap-data >"$TEST_TMP/map.json"
script_json nodetap-events >"$TEST_TMP/events.json"
assert_jq "$TEST_TMP/map.json" '[.cells[][2]] | add' $((2 * N)) "cells of the map"
assert_jq "$TEST_TMP/events.json" '.events | length' $((2 * N)) "events in the page"
assert_jq "$TEST_TMP/events.json" '.not_kept' 0 "events not kept"
assert_jq "$TEST_TMP/events.json" '.with_stack + .no_stack' $((2 * N)) "events with and without a stack"
assert_jq "$TEST_TMP/events.json" '.stacks_not_kept' 0 "stacks not kept"
# Each lookup's stack: taken at uv_getaddrinfo, so every one that has a
# stack names the function that made the lookup.
assert_ge "$(jqv "$TEST_TMP/events.json" .with_stack)" $N "lookups with a stack"
assert_jq "$TEST_TMP/events.json" '. as $d | [.events[] | select(.[8] >= 0) |
	select([$d.stacks[.[8]][2][] | $d.frames[.][0]] | any(test("^lookupFromApp .*dns-client\\.js:")) | not)] | length' 0 \
	"lookups whose stack does not name lookupFromApp"
# Nothing from the traced process is markup in the file itself.
grep -q '<i>' "$html" && fail "the hostile hostname reached the HTML as markup"

# The browser: a node with WebSocket drives it (v22).
node22=$(NODETAP_TEST_NODES=22 "$TESTS_LIB/node-versions.sh") || fail "no node 22 for the DevTools client"
mkdir -p "$TEST_TMP/profile"
"$node22" "$TESTS_LIB/cdp-click.js" --chromium "${CHROMIUM:-/usr/bin/chromium}" --page "$html" \
	--shot "$TEST_TMP/click.png" --profile "$TEST_TMP/profile" --timeout-ms 90000 \
	--flame-click '^lookupFromApp ' \
	>"$TEST_TMP/page.json" 2>"$TEST_TMP/cdp.err" || fail "driving chromium failed: $(cat "$TEST_TMP/cdp.err")"
page=$TEST_TMP/page.json
assert_jq "$page" '.errors | length' 0 "console errors and exceptions: $(jq -c .errors "$page")"
n=$(jqv "$page" .hottest.n)
assert_ge "$n" 2 "events in the hottest cell"
assert_eq "$n" "$(jqv "$page" '.rows | length')" "events listed after the click"
assert_contains "$n in the map, $n listed" "$(jqv "$page" .title)" "title of the listing"
# Each listed event lies in the clicked cell: its latency within the row's
# bounds, its time within the column.
r=$(jqv "$page" .hottest.r)
c=$(jqv "$page" .hottest.c)
low=$(jqv "$TEST_TMP/map.json" ".rows[] | select(.row == $r) | .low_ns")
high=$(jqv "$TEST_TMP/map.json" ".rows[] | select(.row == $r) | .high_ns")
assert_jq "$page" "[.rows[] | (.[1] | tonumber * 1e6) | select(. < $low - 1000 or . >= $high + 1000)] | length" 0 \
	"listed latencies outside $low-$high ns"
assert_jq "$page" "[.rows[] | (.[0] | tonumber) | select(. < $c or . >= $c + 1)] | length" 0 \
	"listed times outside column $c"
assert_jq "$page" '[.rows[][2]] | unique | length' 1 "processes in the listing"
assert_eq "$(jqv "$TEST_TMP/client.json" .pid)" "$(jqv "$page" '.rows[0][2]')" "pid in the listing"
# The listed lookups with their stacks, lookupFromApp among the frames.
with_fn=$(jqv "$page" '[.rows[] | select(.[6] | test("lookupFromApp [^ ]*dns-client\\.js:"))] | length')
assert_ge "$with_fn" 1 "listed lookups whose stack names lookupFromApp"
assert_eq "$(jqv "$page" '[.rows[] | select(.[6] | startswith("(none") | not)] | length')" "$with_fn" \
	"listed lookups with a stack = those naming lookupFromApp"
# The flame graph: in the page, laid out by its script, with the function.
assert_ge "$(jqv "$page" .flame.drawn)" 5 "flame graph frames drawn"
assert_jq "$page" '[.flame.names[] | select(test("^lookupFromApp .*dns-client\\.js:"))] | length' 1 \
	"lookupFromApp in the flame graph"
# The hostile name is text on the page.
assert_jq "$page" '.italic' 0 "<i> elements in the page"
assert_jq "$page" "[.label_cells[] | select(. == \"$HOSTILE\")] | length" 1 "the hostile name as text in the host table"
# A screenshot of the page after the click: a PNG.
# A click on its frame zooms the flame graph (the page's script runs): its
# callers are dimmed.
assert_match "^lookupFromApp " "$(jqv "$page" .flame_click.name)" "flame graph frame clicked"
assert_ge "$(jqv "$page" .flame_click.dimmed)" 1 "flame graph frames dimmed by the zoom"
assert_eq '89504e470d0a1a0a' "$(head -c 8 "$TEST_TMP/click.png" | od -An -tx1 | tr -d ' \n')" "screenshot is a PNG"
assert_ge "$(stat -c %s "$TEST_TMP/click.png")" 10000 "screenshot size"
if [ -n "${NODETAP_KEEP_SHOT:-}" ]; then cp "$TEST_TMP/click.png" "$NODETAP_KEEP_SHOT"; fi
# (The pattern's [-] keeps it from matching this command line itself.)
wait_for 10 "chromium gone" bash -c "! pgrep -f -- '[-]-user-data-dir=$TEST_TMP/profile' >/dev/null"
