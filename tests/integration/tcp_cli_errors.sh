#!/usr/bin/env bash
# Bad input to nodetap tcp gets one clear line naming what is wrong, and the
# right exit status: 2 for usage errors, 1 for runtime failures, 127 for a
# COMMAND that cannot run. -p works for any process (tcp needs no node
# binary). A run killed with SIGKILL leaves nothing loaded.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/cli.sh"

NT=$REPO/nodetap
expect 2 "--all and -p exclude each other" tcp --all -p 1
expect 2 "--all and '-- COMMAND' exclude each other" tcp --all -- true
expect 2 "--events and --no-events exclude each other" tcp --events --no-events
expect 2 "--stacks is not an option of this subcommand" tcp --stacks
expect 2 "--binary names node binaries for the default mode" tcp --binary /usr/bin/node -p 1
expect 2 "--binary names node binaries for the default mode" tcp --binary /usr/bin/node --all
expect 2 "unknown option '--all=1'" tcp --all=1
expect 2 "unknown option '--no-events=x'" tcp --no-events=x
expect 2 "unknown option '--frobnicate'" tcp --frobnicate
expect 2 "-p 'abc': not a process id" tcp -p abc
expect 2 "-d '0': not a duration" tcp -d 0
expect 2 "interval '0': not a number of seconds" tcp 0
expect 2 "unexpected argument '3'" tcp 1 2 3
expect 2 "'--' must be followed by a command" tcp --
expect 1 "pid 4194000: no such process" tcp -p 4194000
expect 1 "--binary /nonexistent/node: No such file" tcp --binary /nonexistent/node

# -p of a process that is not node: fine for tcp (nothing to place in it).
sleep 30 &
sleeper=$!
on_exit kill_wait $sleeper
"$NT" tcp -p $sleeper -d 1 --json >"$TEST_TMP/out" 2>"$TEST_TMP/err" || fail "nodetap tcp -p <sleep> exited $?: $(cat "$TEST_TMP/err")"
assert_jq "$TEST_TMP/out" 'select(.type=="report") | .final' true "final report for -p <sleep>"
assert_eq 5 "$(jq -s '[.[] | select(.type=="probe" and .placed and .file=="kernel")] | length' "$TEST_TMP/out")" "raw tracepoints attached for -p"

# Not root: refused before anything is loaded.
rc=0
setpriv --reuid=65534 --regid=65534 --clear-groups "$NT" tcp -d 1 >/dev/null 2>"$TEST_TMP/err" || rc=$?
assert_eq 1 "$rc" "exit status when not root"
assert_match "must run as root" "$(cat "$TEST_TMP/err")" "message when not root"

# A command that does not exist: 127, as a shell would.
rc=0
"$NT" tcp -- /nonexistent/command >/dev/null 2>"$TEST_TMP/err" || rc=$?
assert_eq 127 "$rc" "exit status for a missing command"
assert_match "cannot run '/nonexistent/command'" "$(cat "$TEST_TMP/err")" "message for a missing command"
# COMMAND's own status.
rc=0
"$NT" tcp -- "$NODE" -e 'process.exit(7)' >/dev/null 2>&1 || rc=$?
assert_eq 7 "$rc" "exit status of nodetap tcp -- node -e 'process.exit(7)'"

# --help teaches: examples and how to read the report, exit 0.
"$NT" tcp --help >"$TEST_TMP/help" || fail "nodetap tcp --help failed"
assert_contains "Examples:" "$(cat "$TEST_TMP/help")" "tcp --help"
assert_contains "Reading the report" "$(cat "$TEST_TMP/help")" "tcp --help"
"$NT" --help >"$TEST_TMP/help" || fail "nodetap --help failed"
assert_match "tcp +the life of each TCP connection" "$(cat "$TEST_TMP/help")" "tcp in nodetap --help"

# SIGKILL: the programs and links go with nodetap's file descriptors. Ours
# are told apart from those of any other nodetap running by the ids in our
# process's fdinfo.
"$NT" tcp >/dev/null 2>&1 &
nt=$!
on_exit kill_wait $nt KILL
# Default mode: 7 raw tracepoints attached (the 5 TCP ones, exec, fork).
attached() { [ "$(own_bpf_ids $nt link | wc -l)" -ge 7 ]; }
wait_for 10 "nodetap tcp attached (7 links in its fdinfo)" attached
progs=$(own_bpf_ids $nt prog) links=$(own_bpf_ids $nt link)
kill -KILL $nt
wait $nt 2>/dev/null || true
wait_for 10 "its programs and links gone after SIGKILL" bpf_ids_gone "$progs" "$links"
