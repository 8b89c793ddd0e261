#!/usr/bin/env bash
# per-node: yes
# nodetap trace -F 499 on a node process whose JavaScript function spinHere
# burns CPU between two moments it notes itself (tests/lib/trace-cpu-app.js,
# process.hrtime: CLOCK_MONOTONIC, nodetap's clock). The file must follow
# the trace event format with "P" sample events pointing ("sf") into
# "stackFrames", every frame's parent a frame too; samples whose stack
# holds spinHere on the app's main thread, enough of them, and every one
# of them between the app's two moments (the same clock as the rest of
# the trace); the losses written in otherData.
. "$(dirname "$0")/../lib/common.sh"

cd "$TEST_TMP"   # V8 may write its logs here
rm_perfmap() { local p; p=$(jq -r .pid "$TEST_TMP/app.json" 2>/dev/null); [ -n "$p" ] && rm -f "/tmp/perf-$p.map"; true; }
on_exit rm_perfmap

trace=$TEST_TMP/trace.json
timeout 120 "$REPO/nodetap" trace -o "$trace" -F 499 -- "$NODE" --perf-basic-prof \
	"$TESTS_LIB/trace-cpu-app.js" "$TEST_TMP/app.json" 1500 >"$TEST_TMP/stdout" 2>"$TEST_TMP/stderr" ||
	fail "nodetap exited $?: $(cat "$TEST_TMP/stderr")"
pid=$(jqv "$TEST_TMP/app.json" .pid)
t0=$(jqv "$TEST_TMP/app.json" .t0)
t1=$(jqv "$TEST_TMP/app.json" .t1)
log "app: pid $pid, $(jqv "$TEST_TMP/app.json" .calls) calls from $t0 to $t1; $(tail -2 "$TEST_TMP/stderr" | tr '\n' ' ')"

# The format: P events with ph, ts, pid, tid and a string sf that names a
# frame; frames with a name, their parents frames too.
assert_jq "$trace" '[.traceEvents[] | select((has("ph") and has("ts") and has("pid") and has("tid")) | not)] | length' 0 \
	"events without ph, ts, pid or tid"
assert_jq "$trace" '.stackFrames as $f | [.traceEvents[] | select(.ph == "P" and ((.sf | type) != "string" or ($f[.sf] == null)))] | length' 0 \
	"samples whose sf is not a frame"
assert_jq "$trace" '.stackFrames as $f | [$f | to_entries[] | select((.value.name | type) != "string" or (has("parent") and .value.parent != null and $f[.value.parent | tostring] == null))] | length' 0 \
	"frames without a name or with a parent that is no frame"
assert_jq "$trace" '.otherData.cpu_hz' 499 "otherData.cpu_hz"
assert_jq "$trace" '.otherData.losses | has("ring_buffer_drops") and has("samples_not_kept")' true "otherData.losses"
assert_jq "$trace" '.otherData.lost_events' 0 "lost events"
assert_match "[0-9]+ CPU samples" "$(cat "$TEST_TMP/stderr")" "summary line"

# The samples in spinHere: their stack (sf and its parents) holds a frame
# named "spinHere ..." (V8's name in the perf map, then file:line).
jq --argjson pid "$pid" '
	.stackFrames as $f
	| def chain($id): if $id == null then [] else [$f[$id].name] + chain($f[$id].parent | if . == null then null else tostring end) end;
	[.traceEvents[] | select(.ph == "P" and .pid == $pid)
	 | select(any(chain(.sf)[]; startswith("spinHere ")))
	 | {ts, tid}]' "$trace" >"$TEST_TMP/spin.json"
n=$(jq length "$TEST_TMP/spin.json")
# 1.5 s at 499 Hz is ~750 samples on an idle CPU; far fewer on a loaded
# 2-core machine, never none.
assert_ge "$n" 40 "samples in spinHere"
assert_jq "$TEST_TMP/spin.json" "[.[] | select(.tid != $pid)] | length" 0 "samples in spinHere off the main thread"
# ts is microseconds with three decimals: ns = ts * 1000, within 1 us.
outside=$(jq --arg t0 "$t0" --arg t1 "$t1" '[.[] | select(.ts * 1000 < ($t0 | tonumber) - 1000 or .ts * 1000 > ($t1 | tonumber) + 1000)] | length' "$TEST_TMP/spin.json")
assert_eq 0 "$outside" "samples in spinHere outside the app's own [t0, t1] (CLOCK_MONOTONIC)"
