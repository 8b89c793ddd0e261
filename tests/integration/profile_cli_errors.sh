#!/usr/bin/env bash
# Bad input to `nodetap profile` gets one clear line naming what is wrong and
# exit 2; not root is refused (exit 1); --help teaches; a nodetap profile
# killed with SIGKILL leaves none of its programs or links loaded (its own
# ids, from its fdinfo).
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/cli.sh"

NT=$REPO/nodetap

expect 2 "--frequency '0': not a sampling rate in Hz \(1 to 1000\)" profile -F 0
expect 2 "--frequency '1001': not a sampling rate in Hz" profile --frequency 1001
expect 2 "--frequency 'abc': not a sampling rate in Hz" profile -F abc
expect 2 "--frequency '-5': not a sampling rate in Hz" profile -F -5
expect 2 "--top '0': not a number of functions" profile --top 0
expect 2 "--folded and --json exclude each other" profile --folded --json
expect 2 "--svg needs a file name" profile --svg ''
expect 2 "unknown option '--frobnicate'" profile --frobnicate
expect 2 "--stacks is not an option of this subcommand" profile --stacks
expect 2 "-p and '-- COMMAND' exclude each other" profile -p 1 -- true
expect 1 "pid 4194000: no such process" profile -p 4194000

rc=0
setpriv --reuid=65534 --regid=65534 --clear-groups "$NT" profile -d 1 >/dev/null 2>"$TEST_TMP/err" || rc=$?
assert_eq 1 "$rc" "exit status when not root"
assert_match "must run as root" "$(cat "$TEST_TMP/err")" "message when not root"

"$NT" profile --help >"$TEST_TMP/help" || fail "nodetap profile --help failed"
assert_contains "Examples:" "$(cat "$TEST_TMP/help")" "profile --help"
assert_contains "Reading the report" "$(cat "$TEST_TMP/help")" "profile --help"
assert_contains "--cpuprofile FILE" "$(cat "$TEST_TMP/help")" "profile --help"
assert_match "profile +CPU profile" "$("$NT" --help)" "nodetap --help lists profile"

# SIGKILL: nothing stays loaded. This nodetap's own programs and links.
"$NT" profile -F 99 >/dev/null 2>&1 &
nt=$!
on_exit kill_wait $nt KILL
# One perf-event link per CPU.
attached() { [ "$(own_bpf_ids $nt link | wc -l)" -ge "$(nproc)" ]; }
wait_for 10 "nodetap profile attached (a link per CPU in its fdinfo)" attached
progs=$(own_bpf_ids $nt prog) links=$(own_bpf_ids $nt link)
kill -KILL $nt
wait $nt 2>/dev/null || true
wait_for 10 "its programs and links gone after SIGKILL" bpf_ids_gone "$progs" "$links"
