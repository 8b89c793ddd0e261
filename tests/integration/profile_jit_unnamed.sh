#!/usr/bin/env bash
# per-node: yes
# node WITHOUT --perf-basic-prof: its JIT code has no names. The samples in
# it are still shown, as "[jit]" frames, never dropped: the folded stacks sum
# to every sample taken, and most of the busy workload's samples end in JIT
# code (tests/lib/profile-app.js spends its time in two JIT-compiled loops).
. "$(dirname "$0")/../lib/common.sh"

NT=$REPO/nodetap
cd "$TEST_TMP"
timeout 120 "$NT" profile --folded -F 499 -- "$NODE" "$TESTS_LIB/profile-app.js" 3 \
	>"$TEST_TMP/folded" 2>"$TEST_TMP/err" || fail "nodetap profile exited $?: $(cat "$TEST_TMP/err")"
total=$(awk '{ s += $NF } END { print s + 0 }' "$TEST_TMP/folded")
jit=$(awk '{ n = $NF; sub(/ [0-9]+$/, ""); k = split($0, f, ";"); for (i = k; i > 0; i--) if (f[i] == "[jit]") { s += n; break } } END { print s + 0 }' "$TEST_TMP/folded")
log "samples: $total, with a [jit] frame: $jit; the hottest stacks end in:"
awk '{ n = $NF; sub(/ [0-9]+$/, ""); k = split($0, f, ";"); print n, f[k - 1] " ; " f[k] }' "$TEST_TMP/folded" |
	sort -rn >"$TEST_TMP/leaves"
head -3 "$TEST_TMP/leaves" >&2
taken=$(sed -n 's/.* \([0-9]*\) samples taken, \([0-9]*\) in .*/\1 \2/p' "$TEST_TMP/err")
assert_eq "$total $total" "$taken" "samples taken, in the stacks, and summed from the folded lines"
assert_ge "$total" 300 "samples of 3 s of a busy process at 499 Hz"
assert_ge "$jit" "$((total / 2))" "samples through JIT code (of $total)"
assert_eq 0 "$(grep -c 'hotThree\|hotOne' "$TEST_TMP/folded" || true)" "lines naming the functions (no perf map)"
