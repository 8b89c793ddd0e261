#!/usr/bin/env bash
# Bad input to `nodetap loop` gets one clear line naming what is wrong and
# the right exit status (2 usage, 1 runtime); --help teaches; nothing stays
# loaded after a failure (no program, no perf event).
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/cli.sh"

NT=$REPO/nodetap

expect 2 "--threshold '0': not a number of milliseconds \(1 to 3600000\)" loop --threshold 0
expect 2 "--threshold 'abc': not a number of milliseconds" loop -t abc
expect 2 "--threshold '3600001': not a number of milliseconds" loop --threshold 3600001
expect 2 "--threshold '-5': not a number of milliseconds" loop --threshold -5
expect 2 "--threshold '1.5': not a number of milliseconds" loop --threshold 1.5
expect 2 "--threshold needs a value" loop --threshold
expect 2 "--frequency '0': not a sampling rate in Hz \(1 to 1000\)" loop --frequency 0
expect 2 "--frequency '1001': not a sampling rate in Hz" loop -F 1001
expect 2 "--stacks is not an option of this subcommand" loop --stacks
expect 2 "-p 'x': not a process id" loop -p x
expect 2 "interval '0': not a number of seconds" loop 0
expect 2 "unknown option '--frobnicate'" loop --frobnicate
expect 2 "-p and '-- COMMAND' exclude each other" loop -p 1 -- true
expect 1 "pid 4194000: no such process" loop -p 4194000

# Not root: refused before anything is loaded.
rc=0
setpriv --reuid=65534 --regid=65534 --clear-groups "$NT" loop -d 1 >/dev/null 2>"$TEST_TMP/err" || rc=$?
assert_eq 1 "$rc" "exit status when not root"
assert_match "must run as root" "$(cat "$TEST_TMP/err")" "message when not root"

# A command that cannot run: 127, as in a shell.
rc=0
"$NT" loop -- /nonexistent/command >/dev/null 2>"$TEST_TMP/err" || rc=$?
assert_eq 127 "$rc" "exit status for a missing command"
assert_match "cannot run '/nonexistent/command'" "$(cat "$TEST_TMP/err")" "message for a missing command"

# --help: examples and how to read the report.
"$NT" loop --help >"$TEST_TMP/help" || fail "nodetap loop --help failed"
assert_contains "Examples:" "$(cat "$TEST_TMP/help")" "loop --help"
assert_contains "Reading the report" "$(cat "$TEST_TMP/help")" "loop --help"
assert_contains "--threshold MS" "$(cat "$TEST_TMP/help")" "loop --help"
assert_match "loop +event-loop lag" "$("$NT" --help)" "nodetap --help lists loop"

# Nothing left loaded by any of the above: no loop program that no process
# holds (other nodetaps may run on this machine; theirs are held).
assert_no_orphan_progs "after the runs above" loop_sample loop_exec
