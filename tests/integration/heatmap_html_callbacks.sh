#!/usr/bin/env bash
# timeout: 180
# nodetap callbacks --html FILE, opened in headless Chromium and driven
# through the DevTools protocol (tests/lib/cdp-click.js) as a person would:
# load, click the hottest heat map cell, read the listing, screenshot. The
# workload (tests/lib/callbacks-shift.js): 20 timer callbacks that busy-wait
# 5 ms in spinInTimer(), then 20 of 50 ms. Checked: no console error or
# exception; the click lists the cell's callbacks, each a TIMERWRAP inside
# the cell's latency range, with the stack sampled while it ran, which names
# spinInTimer (node runs with --perf-basic-prof and --always-sparkplug); the
# top tables (TIMERWRAP first by count and by total time, spinInTimer the
# first function by total time) and the flame graph, laid out by its
# script, with spinInTimer and onShiftTimer.
. "$(dirname "$0")/../lib/common.sh"

N=20
html=$TEST_TMP/report.html
wl=$TEST_TMP/workload.json
"$REPO/nodetap" callbacks --html "$html" -- \
	"$NODE" --perf-basic-prof --interpreted-frames-native-stack --always-sparkplug \
	"$TESTS_LIB/callbacks-shift.js" --count $N --out "$wl" \
	>"$TEST_TMP/stdout" 2>"$TEST_TMP/stderr" || fail "nodetap exited $?: $(cat "$TEST_TMP/stderr")"
rm -f "/tmp/perf-$(jqv "$wl" .pid).map"
assert_jq "$wl" '.callbacks | length' $((2 * N)) "workload: callbacks it ran"
assert_contains "HTML report of " "$(cat "$TEST_TMP/stderr")" "closing line"

node22=$(NODETAP_TEST_NODES=22 "$TESTS_LIB/node-versions.sh") || fail "no node 22 for the DevTools client"
mkdir -p "$TEST_TMP/profile"
"$node22" "$TESTS_LIB/cdp-click.js" --chromium "${CHROMIUM:-/usr/bin/chromium}" --page "$html" \
	--shot "$TEST_TMP/click.png" --profile "$TEST_TMP/profile" --timeout-ms 90000 \
	--flame-click '^spinInTimer ' \
	>"$TEST_TMP/page.json" 2>"$TEST_TMP/cdp.err" || fail "driving chromium failed: $(cat "$TEST_TMP/cdp.err")"
page=$TEST_TMP/page.json
assert_jq "$page" '.errors | length' 0 "console errors and exceptions: $(jq -c .errors "$page")"
n=$(jqv "$page" .hottest.n)
assert_ge "$n" 2 "callbacks in the hottest cell"
assert_eq "$n" "$(jqv "$page" '.rows | length')" "callbacks listed after the click"
assert_contains "$n in the map, $n listed" "$(jqv "$page" .title)" "title of the listing"
# The hottest cell holds the workload's timers (40 of the run's callbacks;
# the others are a few sub-millisecond ones of node's own).
assert_jq "$page" '[.rows[] | select(.[4] != "TIMERWRAP")] | length' 0 "listed callbacks that are not TIMERWRAP"
assert_jq "$page" '[.rows[] | select(.[1] | tonumber < 4.9)] | length' 0 "listed callbacks under 4.9 ms"
# Their stacks: sampled while they ran, so a callback the sampler missed
# (preempted on a loaded machine) has none; most have one, naming spinInTimer.
with_fn=$(jqv "$page" '[.rows[] | select(.[6] | test("spinInTimer [^ ]*callbacks-shift\\.js:[0-9]+"))] | length')
assert_ge "$with_fn" 1 "listed callbacks whose stack names spinInTimer"
assert_ge $((2 * with_fn)) "$n" "listed callbacks whose stack names spinInTimer (at least half)"
# The top tables.
assert_jq "$page" '.label_cells[0]' TIMERWRAP "first kind by count"
assert_jq "$page" '.label_time_cells[0]' TIMERWRAP "first kind by total time"
assert_match "^spinInTimer [^ ]*callbacks-shift\.js:[0-9]+" "$(jqv "$page" '.function_cells[0]')" "first function by total time"
# The flame graph: present, laid out by its script, with the workload's functions.
assert_ge "$(jqv "$page" .flame.drawn)" 5 "flame graph frames drawn"
assert_jq "$page" '[.flame.names[] | select(test("^(spinInTimer|onShiftTimer) .*callbacks-shift\\.js:"))] | length' 2 \
	"spinInTimer and onShiftTimer in the flame graph"
# A click on its frame zooms the flame graph (the page's script runs): its
# callers are dimmed.
assert_match "^spinInTimer " "$(jqv "$page" .flame_click.name)" "flame graph frame clicked"
assert_ge "$(jqv "$page" .flame_click.dimmed)" 1 "flame graph frames dimmed by the zoom"
assert_eq '89504e470d0a1a0a' "$(head -c 8 "$TEST_TMP/click.png" | od -An -tx1 | tr -d ' \n')" "screenshot is a PNG"
assert_ge "$(stat -c %s "$TEST_TMP/click.png")" 10000 "screenshot size"
if [ -n "${NODETAP_KEEP_SHOT:-}" ]; then cp "$TEST_TMP/click.png" "$NODETAP_KEEP_SHOT"; fi
# (The pattern's [-] keeps it from matching this command line itself.)
wait_for 10 "chromium gone" bash -c "! pgrep -f -- '[-]-user-data-dir=$TEST_TMP/profile' >/dev/null"
