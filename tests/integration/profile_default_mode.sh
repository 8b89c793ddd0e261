#!/usr/bin/env bash
# Without -p or COMMAND, `nodetap profile` samples every node process, also
# one started after it, and nothing else: a busy shell loop running at the
# same time is not in the stacks; the node app started later is, by its
# functions' names. (Other node processes on the machine may show too.)
. "$(dirname "$0")/../lib/common.sh"

NT=$REPO/nodetap
NODE=${NODE:-/usr/bin/node}
cd "$TEST_TMP"
rm_perfmap() { local p; p=$(sed -n 's/^pid //p' "$TEST_TMP/app.err" 2>/dev/null | head -1); [ -n "$p" ] && rm -f "/tmp/perf-$p.map"; true; }
on_exit rm_perfmap

# A CPU burner that is not node, under a name of its own, bounded in time.
cp /bin/bash "$TEST_TMP/busyshell"
timeout 20 "$TEST_TMP/busyshell" -c 'end=$((SECONDS + 8)); while [ $SECONDS -lt $end ]; do :; done' &
burner=$!
on_exit kill_wait $burner

timeout 60 "$NT" profile --folded -F 499 -d 6 >"$TEST_TMP/folded" 2>"$TEST_TMP/err" &
nt=$!
on_exit kill_wait $nt
wait_for 10 "nodetap sampling" grep -q "sampling every node process" "$TEST_TMP/err"
# Started after nodetap: found at its samples, no exec tracking needed.
"$NODE" --perf-basic-prof "$TESTS_LIB/profile-app.js" 3 2>"$TEST_TMP/app.err" || fail "profile-app exited $?"
wait $nt || fail "nodetap profile exited $?: $(cat "$TEST_TMP/err")"

assert_ge "$(awk '/;hotThree / { s += $NF } END { print s + 0 }' "$TEST_TMP/folded")" 50 "samples in hotThree of the node started later"
assert_eq 0 "$(grep -c '^busyshell;' "$TEST_TMP/folded" || true)" "stacks of the busy shell (not node)"
