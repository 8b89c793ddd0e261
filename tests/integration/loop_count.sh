#!/usr/bin/env bash
# per-node: yes
# Several blockages are counted exactly: the app blocks 150, 40, 150, 40,
# 150, 40 ms, and measures each itself (on a busy machine a block lasts
# longer than it asked for: the app's own figure is the truth). With the
# default threshold (100 ms) loop reports the long ones and nothing else;
# with --threshold 25, all six, each as long as the app measured it.
# --events prints each as it ends; interval reports split them without
# losing or repeating one.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/loop.sh"

# JSON, --events, a report every second.
out=$TEST_TMP/out.jsonl
loop_app "$TEST_TMP/app.json" block --count 6 --block-ms 150,40 --gap-ms 200
loop_trace "$out" --events -p "$APP_PID" 1
wait_for 10 "the main loop found" loop_found "$out" "$APP_PID" main
loop_go
wait "$APP_PID" || fail "loop-app exited $?"
loop_stop
assert_eq 6 "$(jq '.blocks_ms | length' "$TEST_TMP/app.json")" "the app's own blockages"
long=$(jq '[.blocks_ms[] | select(. >= 100)] | length' "$TEST_TMP/app.json")
assert_ge "$long" 3 "the app's blockages of 100 ms or more"
ended='select(.type=="loop_blockage" and (.ongoing | not))'
assert_eq "$long" "$(jq -s "[.[] | $ended] | length" "$out")" "blockages of 100 ms or more"
for ms in $(jq -r "$ended | .duration_ns / 1e6" "$out"); do
	assert_ge "$ms" 130 "duration of a 150 ms blockage"
	assert_le "$ms" 260 "duration of a 150 ms blockage"
done
assert_eq "$long" "$(jq -s '[.[] | select(.type=="loop_summary") | .blockages] | add' "$out")" \
	"blockages summed over interval summaries"
assert_eq "$long" "$(jq -s '[.[] | select(.type=="report") | .blockages] | add' "$out")" \
	"blockages summed over report records"
assert_ge "$(jq -s '[.[] | select(.type=="report")] | length' "$out")" 2 "interval reports"
# Each blockage once: distinct start times. One that was still going on at
# an interval report is reported then too, as ongoing: the same blockage.
assert_eq "$long" "$(jq -s "[.[] | $ended | .start_ns] | unique | length" "$out")" "distinct blockages"
assert_eq "$long" "$(jq -s '[.[] | select(.type=="loop_blockage") | .start_ns] | unique | length' "$out")" \
	"distinct blockages, ongoing ones included"

# Text, --events, --threshold 25: all six, one line each as it ends, each as
# long as the app measured it. At 499 Hz: a 40 ms blockage is seen by ~20
# samples, so that one is not missed on a busy machine (a sampler sees only
# what a sample lands in).
loop_app "$TEST_TMP/app2.json" block --count 6 --block-ms 150,40 --gap-ms 200
"$REPO/nodetap" loop -v --events --threshold 25 -F 499 -p "$APP_PID" >"$TEST_TMP/text" 2>"$TEST_TMP/stderr" &
nt=$!
on_exit kill_wait $nt
wait_for 10 "the main loop found (text)" grep -q "main loop at 0x" "$TEST_TMP/stderr"
loop_go
wait "$APP_PID" || fail "loop-app exited $?"
kill -INT $nt
wait $nt || fail "nodetap (text) exited $?: $(cat "$TEST_TMP/stderr")"
lines=$(grep -E "^[0-9]+\.[0-9]+ +$APP_PID +$APP_PID +[^ ]+ +main +[0-9]+\.[0-9] +[0-9]+ " "$TEST_TMP/text" || true)
assert_eq 6 "$(grep -c . <<<"$lines")" "event lines with --threshold 25"
# Line i is the app's blockage i, as long as the busy wait the app measured:
# not shorter (the loop's clock counts whole milliseconds), and longer by at
# most 50 ms plus the time nodetap says the thread waited for a CPU (the
# iteration goes on after the wait, and a busy machine may preempt it):
# 40 and 150 ms blockages stay apart. The waits come from each blockage's
# detail lines, in the same order.
waits=$(awk -v pid="$APP_PID" '
	$1 == "pid" && $2 == pid && /main loop, thread [0-9]+: blocked / { if (n++) print w + 0; w = 0 }
	/^    of it [0-9.]+ ms waiting for a CPU/ { w = $3 }
	END { if (n) print w + 0 }' "$TEST_TMP/text")
assert_eq 6 "$(grep -c . <<<"$waits")" "blockage details in the text"
i=0
for ms in $(awk '{print $6}' <<<"$lines"); do
	truth=$(jq -r ".blocks_ms[$i]" "$TEST_TMP/app2.json")
	wait_ms=$(sed -n "$((i + 1))p" <<<"$waits")
	assert_ge "$ms" "$(awk -v t="$truth" 'BEGIN { print t - 2 }')" "blockage $i (the app measured $truth ms)"
	assert_le "$ms" "$(awk -v t="$truth" -v w="$wait_ms" 'BEGIN { print t + 50 + w }')" \
		"blockage $i (the app measured $truth ms; $wait_ms ms waiting for a CPU)"
	i=$((i + 1))
done
assert_match "6 blockages of 25 ms or more" "$(cat "$TEST_TMP/text")" "final summary"
