#!/usr/bin/env bash
# per-node: yes
# --min-ms prints each slower callback with its kind and stacks: a workload
# whose one timer callback busy-waits 200 ms in busyWaitInCallback() gives
# exactly one such callback, TIMERWRAP, of 200 ms or more; the stack sampled
# while it ran names busyWaitInCallback in the workload's file; the stack at
# its return is the native code that made it (node's event loop). The fast
# callbacks are counted as usual and not printed. node runs with
# --perf-basic-prof --interpreted-frames-native-stack, so that JavaScript
# frames have names, and --always-sparkplug, so that the busy function has
# code of its own from its first call (while V8 interprets it, a sample in a
# bytecode handler cannot name it; see docs/loop.md).
. "$(dirname "$0")/../lib/common.sh"

N=4 M=3
out=$TEST_TMP/nodetap.jsonl
wl=$TEST_TMP/workload.json
"$REPO/nodetap" callbacks --json --min-ms 100 -- "$NODE" --perf-basic-prof --interpreted-frames-native-stack --always-sparkplug \
	"$TESTS_LIB/callbacks-workload.js" --stat $N --timers $M --slow-ms 200 --out "$wl" \
	>"$out" 2>"$TEST_TMP/stderr" || fail "nodetap exited $?: $(cat "$TEST_TMP/stderr")"
pid=$(jq -r .pid "$wl")
rm -f "/tmp/perf-$pid.map"

assert_eq 1 "$(jq -s '[.[] | select(.type=="callback")] | length' "$out")" "callbacks of 100 ms or more"
ev=$(jq -c 'select(.type=="callback")' "$out")
assert_eq TIMERWRAP "$(jq -r .kind <<<"$ev")" "kind of the slow callback"
assert_eq "$pid" "$(jq -r .pid <<<"$ev")" "pid of the slow callback"
dur=$(jq -r .duration_ns <<<"$ev")
assert_ge "$dur" 200000000 "duration of the slow callback (ns)"
assert_lt "$dur" 1000000000 "duration of the slow callback (ns)"
[ "$(jq -r .samples <<<"$ev")" -ge 1 ] ||
	fail "no sample taken while it ran: $ev; $(jq -c 'select(.type=="losses")' "$out"); $(cat "$TEST_TMP/stderr")"
js=$(jq -r '[.sampled.frames[] | select(.kind=="js") | .name] | join("\n")' <<<"$ev")
assert_match "busyWaitInCallback [^ ]*callbacks-workload\.js:[0-9]+" "$js" "JavaScript frames sampled while it ran"
native=$(jq -r '[.called_from.frames[] | .name] | join("\n")' <<<"$ev")
assert_contains "uv_run" "$native" "the stack it was called from"
assert_eq 0 "$(jq '[.sampled.frames[], .called_from.frames[] | select(.name == "")] | length' <<<"$ev")" "frames without a name"

# Counted as usual, the slow one with the others.
count() { jq -s --arg k "$1" '[.[] | select(.type=="callbacks_summary" and .kind==$k) | .count] | add // 0' "$out"; }
assert_eq $((M + 1)) "$(count TIMERWRAP)" "TIMERWRAP callbacks"
assert_eq $N "$(count FSREQCALLBACK)" "FSREQCALLBACK callbacks"
assert_jq "$out" 'select(.type=="losses") | .ring_buffer_drops + .stacks_not_taken' 0 "ring buffer drops and stacks lost"

# The text form: the callback line, then its stacks.
"$REPO/nodetap" callbacks --min-ms 100 -- "$NODE" --perf-basic-prof --interpreted-frames-native-stack --always-sparkplug \
	"$TESTS_LIB/callbacks-workload.js" --slow-ms 150 --out "$TEST_TMP/wl2.json" \
	>"$TEST_TMP/text" 2>"$TEST_TMP/stderr" || fail "nodetap (text) exited $?: $(cat "$TEST_TMP/stderr")"
rm -f "/tmp/perf-$(jq -r .pid "$TEST_TMP/wl2.json").map"
text=$(cat "$TEST_TMP/text")
assert_match "TIME\(s\) +PID +TID +COMM +KIND +DUR\(ms\)" "$text" "text header"
# 150 ms of busy-waiting by the wall clock, plus what a loaded machine adds
# (a thread preempted as the wait ends overruns it by the preemption): the same
# range as the --json run's, [X, 1000) ms.
assert_match $'\n[0-9.]+ +[0-9]+ +[0-9]+ +(node|MainThread) +TIMERWRAP +(1[5-9][0-9]|[2-9][0-9]{2})\\.[0-9]{3}\n' "$text" "text line of the slow callback"
assert_match "while it ran \([0-9]+ samples?; of the last 8, one in the JavaScript function most were in\):" \
	"$text" "text: sampled stack"
assert_match "busyWaitInCallback .*callbacks-workload\.js:[0-9]+(:[0-9]+)? \[js\*?\]" "$text" "text: the busy function"
assert_contains "called from:" "$text" "text: caller stack"
