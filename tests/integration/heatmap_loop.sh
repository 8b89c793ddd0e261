#!/usr/bin/env bash
# per-node: yes
# nodetap loop --heatmap FILE.svg --html FILE: the lag of every sample over
# time. The workload (loop-app.js shift) first runs short iterations for 3 s
# (a timer every 20 ms that busy-waits 3 ms), then blocks its loop 10 times
# for 150 ms, 50 ms apart; it reports when the short iterations ended and
# when each block began, on CLOCK_MONOTONIC. The SVG's embedded data must
# show: every sample the loop summary counted, once; low-lag rows (under
# 64 ms) in the columns before the switch and no sample of 64 ms or more
# there; rows of 64 ms and more after it, each such sample in a column that
# overlaps a block's part past its 64th millisecond; no lag longer than a
# block's iteration can have run (from the end of the iteration before it).
# The HTML report lists the same samples; those of the blocks with stacks
# that name busyWaitForNodetap (the function that blocks), as its flame
# graph does.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/loop.sh"

COUNT=10
out=$TEST_TMP/out.jsonl
svg=$TEST_TMP/lag.svg
html=$TEST_TMP/lag.html
loop_app "$TEST_TMP/app.json" shift --seconds 3 --interval-ms 20 --small-ms 3 \
	--count $COUNT --block-ms 150 --gap-ms 50
loop_trace "$out" -p "$APP_PID" --heatmap "$svg" --html "$html"
wait_for 10 "the main loop found" loop_found "$out" "$APP_PID" main
loop_go
wait "$APP_PID" || fail "loop-app exited $?"
loop_stop

app=$TEST_TMP/app.json
assert_jq "$app" '.blocks_ms | length' $COUNT "app: blocks"
shift_ns=$(jqv "$app" '.shift_ns')
# The longest any iteration with a block can have run by its end: from the
# end of the block before it (or of the short iterations) to its own end.
# (Longer than the block itself: what runs before the block's callback, and
# time the thread waited for a CPU there, count too.)
longest_ns=$(jqv "$app" '(.shift_ns | tonumber) as $s |
	[[.block_starts_ns[] | tonumber], .blocks_ms] | transpose | map(.[0] + .[1] * 1e6) as $ends |
	[range(0; $ends | length) | $ends[.] - (if . == 0 then $s else $ends[. - 1] end)] | max | floor')

xmllint --noout "$svg" || fail "$svg is not well-formed XML"
script_json() { sed -n "/<script type=\"application\/json\" id=\"$1\">/,/<\/script>/p" "$2" | sed '1d;$d'; }
data=$TEST_TMP/map.json
script_json nodetap-heatmap-data "$svg" >"$data"
assert_jq "$data" '.format' nodetap-heatmap "embedded data"
assert_jq "$data" '.ringbuf_drops + .not_counted' 0 "samples lost"
assert_jq "$out" 'select(.type=="losses") | .ring_buffer_drops' 0 "ring buffer drops"
# Every sample the sampler counted for the loop is in the map, once.
samples=$(jq -s "[.[] | select(.type==\"loop_summary\" and .pid==$APP_PID) | .samples] | add" "$out")
assert_ge "$samples" 10 "samples counted by the loop summary"
assert_jq "$data" '.events' "$samples" "samples in the heat map"
assert_jq "$data" '[.cells[][2]] | add' "$samples" "sum of the cells"

cells=$TEST_TMP/cells.json
jq -c '. as $d | [.cells[] | . as [$c, $r, $n] | ($d.rows[] | select(.row == $r)) as $row |
	{c: $c, n: $n, low: $row.low_ns, high: $row.high_ns,
	 from: ($d.start_ns + $c * $d.column_ns), to: ($d.start_ns + ($c + 1) * $d.column_ns)}]' \
	"$data" >"$cells"
q() { jq -r "$1" --argjson T "$shift_ns" --argjson L "$longest_ns" --slurpfile app "$app" "$cells"; }
MS64=64000000

# Before the switch: short iterations, low lag (3 ms of work; 20 ms covers
# the timer's own lateness on a loaded machine for most of them).
before=$(q '[.[] | select(.to <= $T) | .n] | add // 0')
assert_ge "$before" 3 "samples in the columns before the switch"
assert_eq 0 "$(q "[.[] | select(.to <= \$T and .high > $MS64) | .n] | add // 0")" \
	"samples of 64 ms or more in the columns before the switch"
assert_ge "$(q '[.[] | select(.to <= $T and .high <= 20000000) | .n] | add // 0')" $(((before + 1) / 2)) \
	"samples under 20 ms before the switch (of $before)"
# After it: the blocks, in rows of 64 ms and more.
slow=$(q "[.[] | select(.low >= $MS64) | .n] | add // 0")
assert_ge "$slow" 5 "samples of 64 ms or more (10 x 86 ms of such lag at 99 Hz)"
assert_eq 0 "$(q "[.[] | select(.low >= $MS64 and .to <= \$T) | .n] | add // 0")" \
	"samples of 64 ms or more in columns that ended before the switch"
# Each slow cell's column overlaps [start + 64 ms, start + duration] of a block.
assert_eq 0 "$(q "[.[] | select(.low >= $MS64) | . as \$cell |
	select(all(\$app[0] | [.block_starts_ns, .blocks_ms] | transpose[];
		((.[0] | tonumber) + $MS64) >= \$cell.to or
		((.[0] | tonumber) + .[1] * 1e6 + 2e6) < \$cell.from)) | .n] | add // 0")" \
	"samples of 64 ms or more in columns without a block's late part"
# No lag above that (+ 2 ms: the loop's clock is in whole ms).
assert_eq 0 "$(q '[.[] | select(.low > $L + 2000000) | .n] | add // 0')" \
	"samples above the longest iteration with a block can have run ($((longest_ns / 1000000)) ms)"
first_slow=$(q "[.[] | select(.low >= $MS64) | .c] | min")
col_T=$(jqv "$data" '(($T - .start_ns) / .column_ns) | floor' --argjson T "$shift_ns")
assert_ge "$first_slow" "$col_T" "first column with slow samples (the switch is in column $col_T)"
assert_le "$first_slow" $((col_T + 1)) "first column with slow samples (the switch is in column $col_T)"

# The HTML report: the same samples, listed, each of this loop's thread.
script_json nodetap-events "$html" >"$TEST_TMP/events.json"
assert_jq "$TEST_TMP/events.json" '.events | length' "$samples" "samples listed in the HTML report"
assert_jq "$TEST_TMP/events.json" '.not_kept' 0 "samples not kept"
# The samples of the blocks carry the stack the sampler took: most of them
# name busyWaitForNodetap, the function that blocks; so does the flame graph.
ev=$TEST_TMP/events.json
slow_listed=$(jqv "$ev" "[.events[] | select(.[3] >= $MS64)] | length")
with_fn=$(jqv "$ev" ". as \$d | [.events[] | select(.[3] >= $MS64 and .[8] >= 0) |
	select([\$d.stacks[.[8]][2][] | \$d.frames[.][0]] | any(test(\"^busyWaitForNodetap .*loop-app\\\\.js:\")))] | length")
assert_ge "$with_fn" 1 "listed samples of 64 ms or more whose stack names busyWaitForNodetap"
assert_ge $((2 * with_fn)) "$slow_listed" "listed samples of 64 ms or more whose stack names busyWaitForNodetap (at least half)"
# (Through a file: grep -q ends a pipe early, and pipefail would fail it.)
sed -n '/<svg version="1.1" class="flamegraph"/,/<\/svg>/p' "$html" >"$TEST_TMP/flame.svg"
grep -q 'data-n="busyWaitForNodetap [^"]*loop-app.js:' "$TEST_TMP/flame.svg" ||
	fail "busyWaitForNodetap not in the HTML report's flame graph"
log "$samples samples, $before before the switch (column $col_T), $slow of 64 ms or more, $with_fn of $slow_listed with busyWaitForNodetap"
