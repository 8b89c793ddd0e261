#!/usr/bin/env bash
# per-node: yes
# `nodetap profile --off-cpu`: time node threads spend blocked, by stack.
# tests/lib/offcpu-app.js blocks its main thread in two known functions and
# measures the time itself: waitSyncForNodetap in a futex (Atomics.wait,
# 200 ms a call), readSlowForNodetap in a synchronous child process
# (execSync('sleep 0.1')); busyForNodetap only computes. The microseconds
# the folded output puts under each blocking function are within 25% of
# what the app measured; the CPU-bound one has (almost) none: preemption is
# not blocking. Then the text report, the SVG's title, and the options
# --off-cpu refuses (exit 2).
. "$(dirname "$0")/../lib/common.sh"

NT=$REPO/nodetap
APP=$TESTS_LIB/offcpu-app.js
cd "$TEST_TMP"   # V8 writes its isolate-*.log here

# The perf map V8 writes is never removed by node: remove ours (the app
# prints no pid, so by the pids nodetap saw: any /tmp/perf-PID.map of a
# process that no longer runs and that this test started is ours; simpler:
# the app's pid from a marker file).
rm_perfmap() { local p; p=$(cat "$1" 2>/dev/null) && [ -n "$p" ] && rm -f "/tmp/perf-$p.map"; true; }
on_exit rm_perfmap "$TEST_TMP/app.pid"
on_exit rm_perfmap "$TEST_TMP/app2.pid"

# 5 waits of 200 ms and 5 children of 100 ms: about 1.5 s blocked.
timeout 120 "$NT" profile --off-cpu --folded -- "$NODE" --perf-basic-prof --interpreted-frames-native-stack \
	-e 'require("fs").writeFileSync(process.argv[1], String(process.pid)); require(process.argv[2])' \
	"$TEST_TMP/app.pid" "$APP" >"$TEST_TMP/folded" 2>"$TEST_TMP/app.err" ||
	fail "nodetap profile --off-cpu exited $?: $(cat "$TEST_TMP/app.err")"
measured=$(sed -n 's/^measured wait \([0-9.]*\) spawn \([0-9.]*\) busy \([0-9.]*\)$/\1 \2 \3/p' "$TEST_TMP/app.err")
[ -n "$measured" ] || fail "the app did not report its times: $(cat "$TEST_TMP/app.err")"
read -r wait_ms spawn_ms busy_ms <<<"$measured"

# Microseconds of the stacks with FN's frame in them ("waitSyncForNodetap
# /path/offcpu-app.js:15:28" as V8's perf map names it).
under() { awk -v fn="$1" '{ n = $NF; sub(/ [0-9]+$/, ""); k = split($0, f, ";"); for (i = 1; i <= k; i++) if (index(f[i], fn " ") == 1) { s += n; break } } END { print s + 0 }' "$TEST_TMP/folded"; }
wait_us=$(under waitSyncForNodetap)
spawn_us=$(under readSlowForNodetap)
busy_us=$(under busyForNodetap)
log "the app measured wait $wait_ms ms, spawn $spawn_ms ms, busy $busy_ms ms; off-CPU: wait $wait_us us, spawn $spawn_us us, busy $busy_us us"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / 1000 / b }'; }
assert_ge "$(ratio "$wait_us" "$wait_ms")" 0.75 "off-CPU time under waitSyncForNodetap / its measured time"
assert_le "$(ratio "$wait_us" "$wait_ms")" 1.25 "off-CPU time under waitSyncForNodetap / its measured time"
# v18's libuv keeps no frame pointers, and its uv_run / uv__io_poll frames
# sit between the epoll_wait that blocks and node's frames: that stack
# ends there (docs/profile.md, limits); v20 and later walk through it.
if [ "$NODE_MAJOR" -ge 20 ]; then
	assert_ge "$(ratio "$spawn_us" "$spawn_ms")" 0.75 "off-CPU time under readSlowForNodetap / its measured time"
	assert_le "$(ratio "$spawn_us" "$spawn_ms")" 1.25 "off-CPU time under readSlowForNodetap / its measured time"
fi
# The busy function is preempted on a loaded machine, but never blocks: at
# most 5% of the time blocked in the futex (a page fault on a file page
# would be a real block; there are none in an integer loop).
assert_le "$busy_us" "$((wait_us / 20))" "off-CPU us under busyForNodetap (of $wait_us under the wait)"
assert_eq 0 "$(grep -cvE '^.+ [0-9]+$' "$TEST_TMP/folded" || true)" "lines that are not 'stack MICROSECONDS'"
# From the process through JavaScript to the futex in the kernel.
assert_ge "$(grep -cE '^(node|MainThread);.*;waitSyncForNodetap [^;]*;.*futex[^;]*;.*schedule[^;]* [0-9]+$' "$TEST_TMP/folded")" 1 \
	"a folded stack from the process through waitSyncForNodetap to the kernel's futex wait"

# The text report and the SVG, by -p on a running process (20 waits: 4 s).
"$NODE" --perf-basic-prof --interpreted-frames-native-stack \
	-e 'require("fs").writeFileSync(process.argv[1], String(process.pid)); setTimeout(() => require(process.argv[2]), 1000)' \
	"$TEST_TMP/app2.pid" "$APP" 20 0 2>"$TEST_TMP/app2.err" &
app=$!
on_exit kill_wait $app
wait_for 20 "the app started" test -s "$TEST_TMP/app2.pid"
timeout 60 "$NT" profile --off-cpu -p $app -d 3 --top 100 --svg "$TEST_TMP/off.svg" >"$TEST_TMP/text" 2>"$TEST_TMP/err" ||
	fail "nodetap profile --off-cpu -p exited $?: $(cat "$TEST_TMP/err")"
kill_wait $app
assert_match "Off-CPU time over [0-9.]+ s: [0-9.]+ ms blocked in 1 process" "$(cat "$TEST_TMP/text")" "summary line"
assert_contains "waitSyncForNodetap" "$(sed -n '/By total time blocked/,$p' "$TEST_TMP/text")" \
	"waitSyncForNodetap in the report by total time blocked"
assert_contains "nodetap profile: off-CPU" "$(head -c 20000 "$TEST_TMP/off.svg")" "the SVG's title"
assert_ge "$(grep -c 'waitSyncForNodetap' "$TEST_TMP/off.svg")" 1 "lines of the SVG naming the blocking function"

# What --off-cpu refuses: a timeline, a sampling rate.
for args in "--cpuprofile x.cpuprofile" "--trace x.json" "-F 99"; do
	# shellcheck disable=SC2086
	"$NT" profile --off-cpu $args -d 1 >/dev/null 2>"$TEST_TMP/usage.err" && rc=0 || rc=$?
	assert_eq 2 "$rc" "exit code of profile --off-cpu $args"
done
