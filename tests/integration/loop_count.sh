#!/usr/bin/env bash
# per-node: yes
# Several blockages are counted exactly: the app blocks 150, 70, 150, 70,
# 150, 70 ms. With the default threshold (100 ms) loop reports the three long
# ones and nothing else; with --threshold 50, all six. --events prints each
# as it ends; interval reports split them without losing or repeating one.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/loop.sh"

# JSON, --events, a report every second.
out=$TEST_TMP/out.jsonl
loop_app "$TEST_TMP/app.json" block --count 6 --block-ms 150,70 --gap-ms 200
loop_trace "$out" --events -p "$APP_PID" 1
wait_for 10 "the main loop found" loop_found "$out" "$APP_PID" main
loop_go
wait "$APP_PID" || fail "loop-app exited $?"
loop_stop
assert_eq 6 "$(jq '.blocks_ms | length' "$TEST_TMP/app.json")" "the app's own blockages"
ended='select(.type=="loop_blockage" and (.ongoing | not))'
assert_eq 3 "$(jq -s "[.[] | $ended] | length" "$out")" "blockages of 100 ms or more"
for ms in $(jq -r "$ended | .duration_ns / 1e6" "$out"); do
	assert_ge "$ms" 130 "duration of a 150 ms blockage"
	assert_le "$ms" 210 "duration of a 150 ms blockage"
done
assert_eq 3 "$(jq -s '[.[] | select(.type=="loop_summary") | .blockages] | add' "$out")" \
	"blockages summed over interval summaries"
assert_eq 3 "$(jq -s '[.[] | select(.type=="report") | .blockages] | add' "$out")" \
	"blockages summed over report records"
assert_ge "$(jq -s '[.[] | select(.type=="report")] | length' "$out")" 2 "interval reports"
# Each blockage once: distinct start times. One that was still going on at
# an interval report is reported then too, as ongoing: the same blockage.
assert_eq 3 "$(jq -s "[.[] | $ended | .start_ns] | unique | length" "$out")" "distinct blockages"
assert_eq 3 "$(jq -s '[.[] | select(.type=="loop_blockage") | .start_ns] | unique | length' "$out")" \
	"distinct blockages, ongoing ones included"

# Text, --events, --threshold 50: all six, one line each as it ends.
loop_app "$TEST_TMP/app2.json" block --count 6 --block-ms 150,70 --gap-ms 200
"$REPO/nodetap" loop -v --events --threshold 50 -p "$APP_PID" >"$TEST_TMP/text" 2>"$TEST_TMP/stderr" &
nt=$!
on_exit kill_wait $nt
wait_for 10 "the main loop found (text)" grep -q "main loop at 0x" "$TEST_TMP/stderr"
loop_go
wait "$APP_PID" || fail "loop-app exited $?"
kill -INT $nt
wait $nt || fail "nodetap (text) exited $?: $(cat "$TEST_TMP/stderr")"
lines=$(grep -E "^[0-9]+\.[0-9]+ +$APP_PID +$APP_PID +[^ ]+ +main +[0-9]+\.[0-9] +[0-9]+ " "$TEST_TMP/text" || true)
assert_eq 6 "$(grep -c . <<<"$lines")" "event lines with --threshold 50"
assert_eq 3 "$(awk '$6 >= 100' <<<"$lines" | grep -c .)" "long ones among them"
assert_eq 3 "$(awk '$6 >= 50 && $6 < 100' <<<"$lines" | grep -c .)" "short ones among them"
assert_match "6 blockages of 50 ms or more" "$(cat "$TEST_TMP/text")" "final summary"
