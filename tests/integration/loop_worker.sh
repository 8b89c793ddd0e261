#!/usr/bin/env bash
# per-node: yes
# A worker_threads Worker has its own loop, on its thread's stack: loop finds
# it while the worker waits for events, and a 200 ms busy wait on the worker
# is a blockage of the worker's loop (its thread, its stacks), not of the main
# loop, which waits meanwhile.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/loop.sh"

out=$TEST_TMP/out.jsonl
loop_app "$TEST_TMP/app.json" worker --count 1 --block-ms 200
loop_trace "$out" -p "$APP_PID"
wait_for 10 "the main loop found" loop_found "$out" "$APP_PID" main
wait_for 10 "the worker's loop found" loop_found "$out" "$APP_PID" worker
loop_go
wait "$APP_PID" || fail "loop-app exited $?"
loop_stop

worker=$(jq -r 'select(.type=="loop" and .kind=="worker") | .tid' "$out")
assert_eq 1 "$(grep -c . <<<"$worker")" "worker loops found"
assert_ne "$APP_PID" "$worker" "the worker's thread"
assert_eq "on the thread's stack" "$(jq -r 'select(.type=="loop" and .kind=="worker") | .how' "$out")" \
	"how the worker's loop was found"
blocks=$(jq -c 'select(.type=="loop_blockage" and (.ongoing | not))' "$out")
assert_eq 1 "$(grep -c . <<<"$blocks")" "blockages reported"
assert_eq worker "$(jq -r .kind <<<"$blocks")" "blocked loop"
assert_eq "$worker" "$(jq -r .tid <<<"$blocks")" "blocked thread"
ms=$(jq -r '.duration_ns / 1e6' <<<"$blocks")
assert_ge "$ms" 180 "blockage duration (ms)"
assert_le "$ms" 260 "blockage duration (ms)"
assert_match '^busyWaitForNodetap ' "$(jq -r '.js_functions[0].name' <<<"$blocks")" "hottest JavaScript function"
assert_eq 0 "$(jq -r --argjson p "$APP_PID" 'select(.type=="loop_summary" and .tid==$p) | .blockages' "$out")" \
	"blockages of the main loop"
