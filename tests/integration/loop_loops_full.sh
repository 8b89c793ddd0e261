#!/usr/bin/env bash
# nodetap loop's map of loops (a row per event loop it samples, 8192) full:
# a loop that does not fit is counted once as map_full and not sampled, and
# the loop kept is still watched. loops is shrunk to 1 row
# (NODETAP_TEST_MAP_ENTRIES, a test-only setting); the app (loop-app.js
# worker mode: its main loop idle, one worker_threads Worker whose loop
# blocks 200 ms once, on a signal) is traced with -p. The main loop takes
# the row; the worker's loop, found on its thread's stack, does not fit.
# nodetap looks for worker loops again at every tick: before, each look
# counted the same worker again. Ground truth: the app's own report (one
# worker, one blockage of it). nodetap: the main loop found, no worker loop,
# map_full exactly 1 after 2 s of ticks, no blockage reported, no other loss.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/loop.sh"
out=$TEST_TMP/out.jsonl
loop_app "$TEST_TMP/app.json" worker --count 1 --block-ms 200
wait_for 20 "the worker's loop running" test -e "$(ls "$TEST_TMP"/go.*.ready | head -1 | sed 's/\.ready$//').worker-ready"
NODETAP_TEST_MAP_ENTRIES=loops=1 loop_trace "$out" -p "$APP_PID"
wait_for 10 "the main loop found" loop_found "$out" "$APP_PID" main
# Ticks look for worker loops again: 2 s of them.
sleep 2
loop_go
wait "$APP_PID" || fail "loop-app exited $?"
loop_stop
assert_jq "$TEST_TMP/app.json" '.blocks_ms | length' 1 "blockages the worker made"
workers=$(jq -s '[.[] | select(.type=="loop" and .kind=="worker" and .found)] | length' "$out")
full=$(jqv "$out" 'select(.type=="losses") | .map_full')
blocks=$(jq -s '[.[] | select(.type=="loop_blockage")] | length' "$out")
echo "loop_loops_full: loops of 1 row: main loop found, $workers worker loops found, map_full $full (want 1), $blocks blockages reported"
assert_eq 0 "$workers" "worker loops found (the row is the main loop's)"
assert_eq 1 "$full" "map_full: the worker's loop, once"
assert_eq 0 "$blocks" "blockages reported (only the worker's loop blocked)"
assert_jq "$out" 'select(.type=="losses") | [.[] | numbers] | add' 1 "no other loss"

run_cleanups
assert_no_procs_left
