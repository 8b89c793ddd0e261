#!/usr/bin/env bash
# per-node: yes
# Two JavaScript functions that burn CPU in a 3:1 ratio (tests/lib/
# profile-app.js: hotThree runs three times per round, hotOne once, each the
# same fixed work): `nodetap profile --folded -- node --perf-basic-prof ...`
# names both, and the samples under them are in a 3:1 ratio within 20%.
# Every sample taken is in the folded stacks, none dropped. The text report
# ranks them first and second by self time.
. "$(dirname "$0")/../lib/common.sh"

NT=$REPO/nodetap
APP=$TESTS_LIB/profile-app.js
cd "$TEST_TMP"   # V8 writes its isolate-*.log here

# The perf map V8 writes is never removed by node: remove ours.
rm_perfmap() { local p; p=$(sed -n 's/^pid //p' "$1" 2>/dev/null | head -1); [ -n "$p" ] && rm -f "/tmp/perf-$p.map"; true; }
on_exit rm_perfmap "$TEST_TMP/app.err"
on_exit rm_perfmap "$TEST_TMP/app2.err"

timeout 120 "$NT" profile --folded -F 499 -- "$NODE" --perf-basic-prof "$APP" 4 \
	>"$TEST_TMP/folded" 2>"$TEST_TMP/app.err" || fail "nodetap profile exited $?: $(cat "$TEST_TMP/app.err")"
assert_match "rounds [0-9]+" "$(cat "$TEST_TMP/app.err")" "the app ran to its end"

# Samples of stacks with FN's frame in them ("hotThree :3:25": V8 names a
# function made by new Function with no file).
under() { awk -v fn="$1" '{ n = $NF; sub(/ [0-9]+$/, ""); k = split($0, f, ";"); for (i = 1; i <= k; i++) if (index(f[i], fn " ") == 1) { s += n; break } } END { print s + 0 }' "$TEST_TMP/folded"; }
three=$(under hotThree)
one=$(under hotOne)
total=$(awk '{ s += $NF } END { print s + 0 }' "$TEST_TMP/folded")
log "samples: hotThree $three, hotOne $one, all $total; the app: $(grep rounds "$TEST_TMP/app.err")"
# 4 s at 499 Hz is ~2000 samples of the busy thread; on a loaded machine far
# fewer, but the ratio needs a few hundred.
assert_ge "$one" 60 "samples under hotOne"
assert_ge "$((three + one))" "$((total / 2))" "samples under the two hot functions (of $total)"
ratio=$(awk -v a="$three" -v b="$one" 'BEGIN { printf "%.3f", a / b }')
assert_ge "$ratio" 2.4 "hotThree:hotOne samples (3:1 +-20%)"
assert_le "$ratio" 3.6 "hotThree:hotOne samples (3:1 +-20%)"
# Root first: the process (its main thread's name: node, or MainThread as
# v24 names it), node's start, ..., the hot function last but for what it
# called.
assert_ge "$(grep -cE '^(node|MainThread);[^;]*;node::Start.*;hotThree [^;]*( [0-9]+|;.*)$' "$TEST_TMP/folded")" 1 \
	"folded stacks from the process through node::Start to hotThree"
assert_eq 0 "$(grep -cvE '^.+ [0-9]+$' "$TEST_TMP/folded" || true)" "lines that are not 'stack COUNT'"
taken=$(sed -n 's/.* \([0-9]*\) samples taken, \([0-9]*\) in .*/\1 \2/p' "$TEST_TMP/app.err")
assert_eq "$total $total" "$taken" "samples taken, in the stacks, and summed from the folded lines"

# The text report, by -p on a running process: the two ranked first.
"$NODE" --perf-basic-prof "$APP" 6 2>"$TEST_TMP/app2.err" &
app=$!
on_exit kill_wait $app
wait_for 20 "the app ready" grep -q ready "$TEST_TMP/app2.err"
timeout 60 "$NT" profile -F 499 -p $app -d 3 --top 5 >"$TEST_TMP/text" 2>"$TEST_TMP/err" ||
	fail "nodetap profile -p exited $?: $(cat "$TEST_TMP/err")"
kill_wait $app
top=$(sed -n '/by self time/,/^$/p' "$TEST_TMP/text" | awk 'NR > 2 && NF { print $5 }' | head -2 | tr '\n' ' ')
assert_eq "hotThree hotOne " "$top" "the two first functions by self time"
assert_match "CPU samples over [0-9.]+ s at 499 Hz: [0-9]+ samples in 1 process" "$(cat "$TEST_TMP/text")" "summary line"
