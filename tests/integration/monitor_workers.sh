#!/usr/bin/env bash
# per-node: yes
# timeout: 120
# nodetap monitor samples the loops of worker_threads Workers too: a process
# whose Worker busy-waits 1 s in a timer callback (its main loop idle
# meanwhile) shows the lag under thread="worker", past 32 ms, and not under
# thread="main"; the worker's loop is found while it waits
# (nodetap_event_loop_workers 1); once the process exits, its worker series
# keeps its counts for the grace period.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/monitor.sh"

nt_monitor_start --grace 60
GO=$TEST_TMP/go
# At a high priority, as the loop tests: the busy wait gets the CPU, so the
# on-CPU sampler sees it.
nice -n -15 "$NODE" --always-sparkplug "$TESTS_LIB/loop-app.js" worker --count 1 --block-ms 1000 \
	--go "$GO" --out "$TEST_TMP/app.json" &
app=$!
on_exit kill_wait $app
wait_for 20 "loop-app's event loop running" test -e "$GO.ready"
lag() { nt_metric_re "nodetap_event_loop_lag_seconds_bucket\\{pid=\"$app\",comm=\"[^\"]*\",thread=\"$1\",le=\"$2\"\\}"; }
over() { local all short; all=$(lag "$1" '\+Inf'); short=$(lag "$1" '0\.032768'); echo $((${all:-0} - ${short:-0})); }
workers() { nt_metric_re "nodetap_event_loop_workers\\{pid=\"$app\",comm=\"[^\"]*\"\\}"; }
found() { [ "$(workers)" = 1 ]; }
wait_for 30 "the worker's loop found" found
main_before=$(over main)

touch "$GO"
wait $app || fail "loop-app exited $?"
assert_ge "$(jq '.blocks_ms[0]' "$TEST_TMP/app.json" | cut -d. -f1)" 990 "the worker's busy wait (ms)"
worker_over=$(over worker)
main_over=$(($(over main) - main_before))
log "samples over 32 ms: worker $worker_over, main $main_over (during the block and after)"
assert_ge "$worker_over" 1 "worker lag samples over 32 ms during a 1 s busy wait"
assert_le "$main_over" "$worker_over" "main lag samples over 32 ms meanwhile (the main loop was idle)"

# Exited: the worker's counts stay (the monitor takes them out of the
# kernel's map when the process goes).
gone() { [ -z "$(workers)" ]; }
wait_for 20 "pid $app seen exited" gone
assert_ge "$(lag worker '\+Inf')" "$worker_over" "worker lag samples after the process exited"
