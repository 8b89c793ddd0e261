#!/usr/bin/env bash
# nodetap trace's own options: -F and --frequency take a rate from 1 to 1000
# (bad ones get one clear line and exit 2, before anything is loaded);
# --help teaches --callbacks and -F with examples; and a trace with
# --callbacks and -F on a short node program leaves none of the programs
# of the three BPF objects it loads behind.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/cli.sh"

expect 2 "-F '0': not a sampling frequency \(1 to 1000 Hz\)" trace -o t.json -F 0
expect 2 "-F '1001': not a sampling frequency" trace -o t.json -F 1001
expect 2 "-F 'fast': not a sampling frequency" trace -o t.json --frequency fast
expect 2 "unknown option '--callbacks=yes'" trace -o t.json --callbacks=yes
expect 2 "--loop-ms '0': not a number of milliseconds \(1 to 3600000\)" trace -o t.json --loop-ms 0
expect 2 "--loop-ms '1s': not a number of milliseconds" trace -o t.json --loop-ms 1s
"$REPO/nodetap" trace --help >"$TEST_TMP/help"
for want in "--callbacks" "COSTLY" "-F, --frequency HZ" "--cpu" "--loop " "--loop-ms MS" \
	"nodetap trace -o t.json --callbacks -- node app.js"; do
	assert_contains "$want" "$(cat "$TEST_TMP/help")" "trace --help"
done

# A real run with everything on: a file, and nothing left loaded.
timeout 60 "$REPO/nodetap" trace -o "$TEST_TMP/t.json" --callbacks -F 99 --loop -- "$NODE" -e '
	setTimeout(() => {}, 50); setImmediate(() => {});' >"$TEST_TMP/out" 2>"$TEST_TMP/err" ||
	fail "nodetap trace exited $?: $(cat "$TEST_TMP/err")"
assert_eq "true 99 100" "$(jq -r '.otherData | "\(.callbacks) \(.cpu_hz) \(.loop_threshold_ms)"' "$TEST_TMP/t.json")" "otherData"
assert_ge "$(jq '[.traceEvents[] | select(.cat == "callback" and .name == "TIMERWRAP")] | length' "$TEST_TMP/t.json")" 1 \
	"TIMERWRAP callbacks (the setTimeout)"
assert_no_orphan_progs "after trace --callbacks -F --loop" origin_start origin_done conn_state_change \
	cb_enter cb_return cb_exit profile_sample uv_connect_start loop_sample loop_exec
