#!/usr/bin/env bash
# per-node: yes
# nodetap callbacks --heatmap FILE.svg --html FILE against callbacks of known
# durations: tests/lib/callbacks-shift.js runs 20 timer callbacks that
# busy-wait 5 ms in spinInTimer(), one after the other, then 20 that
# busy-wait 50 ms, and records when it switched and each callback's own start
# and end (on CLOCK_MONOTONIC, as nodetap). Checked, from the SVG's embedded
# data: the band lies in the 4-8 ms rows before the switch and in the 48-64
# ms rows after it, and moves at the switch's column; from the HTML report's
# event data: every timer callback is there once, and nodetap's interval of
# each encloses the workload's own measurement of it; the stacks sampled
# while they ran name spinInTimer (node runs with --perf-basic-prof, and
# --always-sparkplug so that the function has code of its own from its first
# call); the flame graph has it too.
. "$(dirname "$0")/../lib/common.sh"

N=20
svg=$TEST_TMP/cb.svg
html=$TEST_TMP/cb.html
wl=$TEST_TMP/workload.json
"$REPO/nodetap" callbacks --heatmap "$svg" --heatmap-column 0.25 --html "$html" -- \
	"$NODE" --perf-basic-prof --interpreted-frames-native-stack --always-sparkplug \
	"$TESTS_LIB/callbacks-shift.js" --count $N --fast-ms 5 --slow-ms 50 --gap-ms 40 --out "$wl" \
	>"$TEST_TMP/stdout" 2>"$TEST_TMP/stderr" || fail "nodetap exited $?: $(cat "$TEST_TMP/stderr")"
pid=$(jqv "$wl" .pid)
rm -f "/tmp/perf-$pid.map"
assert_jq "$wl" '.callbacks | length' $((2 * N)) "workload: callbacks it ran"
assert_contains "heat map of " "$(cat "$TEST_TMP/stderr")" "nodetap's closing line (SVG)"
assert_contains "HTML report of " "$(cat "$TEST_TMP/stderr")" "nodetap's closing line (HTML)"
switch_ns=$(jqv "$wl" .switch_ns)
# A loaded machine may stretch a 5 ms callback: those the workload itself
# saw at 40 ms or more are allowed in the slow rows.
outliers=$(jqv "$wl" '[.callbacks[] | select(.target_ms == 5 and .ms >= 40)] | length')

# ---- the SVG's data ---------------------------------------------------------
xmllint --noout "$svg" || fail "$svg is not well-formed XML"
data=$TEST_TMP/heatmap.json
sed -n '/<script type="application\/json" id="nodetap-heatmap-data">/,/<\/script>/p' "$svg" |
	sed '1d;$d' >"$data"
assert_jq "$data" '.format' nodetap-heatmap "embedded data"
assert_jq "$data" '.column_ns' 250000000 "column width"
assert_jq "$data" '.ringbuf_drops + .not_counted' 0 "events lost"
events=$(jqv "$data" .events)
assert_ge "$events" $((2 * N)) "events in the heat map (every callback of the process)"
assert_jq "$data" '[.cells[][2]] | add' "$events" "sum of the cells"
cells=$TEST_TMP/cells.json
jq -c '. as $d | [.cells[] | . as [$c, $r, $n] | ($d.rows[] | select(.row == $r)) as $row |
	{c: $c, n: $n, low: $row.low_ns, high: $row.high_ns,
	 from: ($d.start_ns + $c * $d.column_ns), to: ($d.start_ns + ($c + 1) * $d.column_ns)}]' \
	"$data" >"$cells"
q() { jqv "$cells" "$1" --argjson T "$switch_ns"; }
slow=$(q '[.[] | select(.low >= 48000000) | .n] | add // 0')
assert_ge "$slow" $N "callbacks in rows of 48 ms and more (the 50 ms ones)"
assert_le "$slow" $((N + outliers)) "callbacks in rows of 48 ms and more"
assert_ge "$(q '[.[] | select(.low >= 4000000 and .high <= 48000000) | .n] | add // 0')" $((N - outliers)) \
	"callbacks in the rows of 4-48 ms (the 5 ms ones)"
# nodetap's duration of a callback is never below the workload's own (it
# encloses it): the rows under 8.192 ms hold at most the callbacks the
# workload measured under that (a loaded machine stretches 5 ms spins).
short=$(jqv "$wl" '[.callbacks[] | select(.ms < 8.192)] | length')
assert_le "$(q '[.[] | select(.low >= 4000000 and .high <= 8192000) | .n] | add // 0')" "$short" \
	"callbacks in the 4-8 ms rows (the workload measured $short under 8.192 ms)"
assert_jq "$wl" '[.callbacks[] | select(.target_ms == 50 and .ms < 50)] | length' 0 \
	"workload: 50 ms callbacks shorter than 50 ms"
# The band moves at the switch: fast ones in columns that began before it,
# slow ones in columns that ended after it.
assert_eq 0 "$(q '[.[] | select(.low >= 4000000 and .high <= 48000000 and .from >= $T) | .n] | add // 0')" \
	"4-48 ms callbacks in columns after the switch"
assert_le "$(q '[.[] | select(.low >= 48000000 and .to <= $T) | .n] | add // 0')" "$outliers" \
	"slow callbacks in columns before the switch"
col_T=$(jqv "$data" '(($T - .start_ns) / .column_ns) | floor' --argjson T "$switch_ns")
# The columns of the last 5 ms callback's end and the first 50 ms one's, by
# the workload's clock: nodetap's ends are at most a little later.
col_of() { jqv "$data" "((\$t - .start_ns) / .column_ns) | floor" --argjson t "$1"; }
col_last=$(col_of "$(jqv "$wl" ".callbacks[$((N - 1))].end_ns")")
col_first=$(col_of "$(jqv "$wl" ".callbacks[$N].end_ns")")
last_fast=$(q '[.[] | select(.low >= 4000000 and .high <= 48000000) | .c] | max')
first_slow=$(q '[.[] | select(.low >= 48000000 and .to > $T) | .c] | min')
assert_match "^($col_last|$((col_last + 1)))$" "$last_fast" "last column with 5 ms callbacks (the last ended in column $col_last)"
assert_le "$last_fast" "$col_T" "last column with 5 ms callbacks (the switch is in column $col_T)"
assert_match "^($col_first|$((col_first + 1)))$" "$first_slow" "first column with 50 ms callbacks (the first ended in column $col_first)"
assert_ge "$first_slow" "$col_T" "first column with 50 ms callbacks (the switch is in column $col_T)"
assert_ge "$(q '[.[] | select(.low >= 4000000 and .high <= 48000000) | .c] | unique | length')" 2 "columns with 5 ms callbacks"
assert_ge "$(q '[.[] | select(.low >= 48000000) | .c] | unique | length')" 3 "columns with 50 ms callbacks"

# ---- the HTML report's events -------------------------------------------------
script_json() { sed -n "/<script type=\"application\/json\" id=\"$1\">/,/<\/script>/p" "$html" | sed '1d;$d'; }
script_json nodetap-heatmap-data >"$TEST_TMP/map.json"
script_json nodetap-events >"$TEST_TMP/events.json"
ev=$TEST_TMP/events.json
assert_jq "$ev" '.events | length' "$events" "events in the page"
assert_jq "$ev" '.not_kept' 0 "events not kept"
start_ns=$(jqv "$TEST_TMP/map.json" .start_ns)
# The timer callbacks, in time order: [start, end, duration, stack].
timers=$TEST_TMP/timers.json
jq -c --argjson S "$start_ns" '. as $d | [.events[] | select($d.labels[.[6]] == "TIMERWRAP") |
	{end: ($S + .[2]), dur: .[3], stack: .[8]} | .start = (.end - .dur)] | sort_by(.end)' "$ev" >"$timers"
assert_jq "$timers" 'length' $((2 * N)) "TIMERWRAP callbacks in the page"
# Each one's interval encloses the workload's own (1 us slack: the page
# rounds nothing, but jq computes in doubles).
jq -c '[.callbacks[] | {start: (.start_ns|tonumber), end: (.end_ns|tonumber)}]' "$wl" >"$TEST_TMP/truth.json"
bad=$(jq -n --slurpfile a "$timers" --slurpfile b "$TEST_TMP/truth.json" \
	'[range(0; $a[0] | length) as $i | select($a[0][$i].start > $b[0][$i].start + 1000 or
	  $a[0][$i].end < $b[0][$i].end - 1000)] | length')
assert_eq 0 "$bad" "callbacks whose interval does not enclose the workload's measurement"
# ... closely: beyond it by less than 1 ms for most (the timers' own code
# around the callback; the first call compiles, the last writes the file).
close=$(jq -n --slurpfile a "$timers" --slurpfile b "$TEST_TMP/truth.json" \
	'[range(0; $a[0] | length) as $i | select($a[0][$i].dur - ($b[0][$i].end - $b[0][$i].start) < 1000000)] | length')
assert_ge "$close" $N "callbacks timed within 1 ms of the workload's own measurement"
# The page's events are the map's cells, one by one.
assert_eq "$(jqv "$TEST_TMP/map.json" '.cells[] | map(tostring) | join(",")' | sort)" \
	"$(jqv "$ev" '[.events[] | [.[0], .[1]] | map(tostring) | join(",")] | group_by(.) | .[] | "\(.[0]),\(length)"' | sort)" \
	"cells rebuilt from the page's events = the map's cells"
# Their stacks: the JavaScript sampled while they ran.
has_fn() { jqv "$ev" "[. as \$d | .events[] | select(\$d.labels[.[6]] == \"TIMERWRAP\" and .[3] $1) |
	select(.[8] >= 0) | [\$d.stacks[.[8]][2][] | \$d.frames[.][0]] | select(any(test(\"^spinInTimer .*callbacks-shift\\\\.js:\")))] | length"; }
assert_ge "$(has_fn '>= 48000000')" $((N / 2)) "50 ms callbacks whose sampled stack names spinInTimer"
assert_ge "$(has_fn '< 48000000')" 1 "5 ms callbacks whose sampled stack names spinInTimer"
# No frame without a name, and the app's frames marked as such.
assert_jq "$ev" '[.frames[] | select(.[0] == "")] | length' 0 "frames without a name"
assert_jq "$ev" '[.frames[] | select(.[1] == "js" and .[2] == 1 and (.[0] | test("^spinInTimer ")))] | length' 1 \
	"spinInTimer: one JavaScript frame of the application"
# The top tables and the flame graph.
grep -q '<table id="functions"><tr><th class="l">function</th>' "$html" || fail "no function table"
# (Through a file: grep -q ends a pipe early, and pipefail would fail it.)
sed -n '/<table id="functions">/,/<\/table>/p' "$html" >"$TEST_TMP/functions.html"
sed -n 2p "$TEST_TMP/functions.html" | grep 'spinInTimer ' >/dev/null ||
	fail "spinInTimer is not the first function by total time: $(head -4 "$TEST_TMP/functions.html")"
sed -n '/<svg version="1.1" class="flamegraph"/,/<\/svg>/p' "$html" >"$TEST_TMP/flame.svg"
grep -q 'data-n="spinInTimer [^"]*callbacks-shift.js:' "$TEST_TMP/flame.svg" || fail "spinInTimer not in the flame graph"
grep -q 'data-n="onShiftTimer [^"]*callbacks-shift.js:' "$TEST_TMP/flame.svg" || fail "onShiftTimer not in the flame graph"
log "switch in column $col_T; $events callbacks; $(stat -c %s "$html") bytes of HTML"
