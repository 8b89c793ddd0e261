#!/usr/bin/env bash
# Bad input to nodetap callbacks gets one clear line naming what is wrong and
# the right exit status: 2 for usage errors, 1 for runtime failures.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/cli.sh"

NT=$REPO/nodetap
expect 2 "--kind '': a comma list of kinds" callbacks --kind ''
expect 2 "--kind 'TCPWRAP,': a comma list of kinds" callbacks --kind TCPWRAP,
expect 2 "--kind ',TCPWRAP': a comma list of kinds" callbacks --kind ,TCPWRAP
expect 2 "--kind 'TCPWRAP,,FSREQCALLBACK': a comma list" callbacks --kind TCPWRAP,,FSREQCALLBACK
expect 2 "--kind 'TCP WRAP': not a kind name" callbacks --kind 'TCP WRAP'
expect 2 "--kind 'TCPWRAP.': not a kind name" callbacks --kind 'TCPWRAP.'
expect 2 "--kind 'NOSUCHWRAP': no such kind in the node binaries traced" \
	callbacks --kind TCPWRAP,NOSUCHWRAP --binary "$NODE" -d 1
expect 2 "--min-ms '0': not a number of milliseconds" callbacks --min-ms 0
expect 2 "--min-ms 'abc': not a number of milliseconds" callbacks --min-ms abc
expect 2 "--min-ms '1.5': not a number of milliseconds" callbacks --min-ms 1.5
expect 2 "--min-ms '86400001': not a number of milliseconds" callbacks --min-ms 86400001
expect 2 "--max-overhead '0': not a percentage" callbacks --max-overhead 0
expect 2 "--max-overhead '101': not a percentage" callbacks --max-overhead 101
expect 2 "--max-overhead '-5': not a percentage" callbacks --max-overhead -5
expect 2 "--max-overhead '1.2.3': not a percentage" callbacks --max-overhead 1.2.3
expect 2 "--max-overhead '.5': not a percentage" callbacks --max-overhead .5
expect 2 "--max-overhead '5%': not a percentage" callbacks --max-overhead 5%
expect 2 "--max-overhead needs a value" callbacks --max-overhead
expect 2 "--stacks is not an option of this subcommand" callbacks --stacks
expect 2 "--events is not an option of this subcommand" callbacks -e
expect 2 "-p 'abc': not a process id" callbacks -p abc
expect 2 "interval '0': not a number of seconds" callbacks 0
expect 1 "pid 4194000: no such process" callbacks -p 4194000

# A process that is not node: nothing to probe.
sleep 30 &
sleeper=$!
on_exit kill_wait $sleeper
rc=0
"$NT" callbacks -p $sleeper -d 1 >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
assert_eq 1 "$rc" "exit status for a process that is not node"
assert_match "cannot place node::AsyncWrap::MakeCallback.* in .*sleep.*no symbol" "$(cat "$TEST_TMP/err")" \
	"reason for a process that is not node"
assert_match "no probe could be placed on node::AsyncWrap::MakeCallback" "$(cat "$TEST_TMP/err")" \
	"summary line for a process that is not node"

# Not root: refused before anything is loaded.
rc=0
setpriv --reuid=65534 --regid=65534 --clear-groups "$NT" callbacks -d 1 >/dev/null 2>"$TEST_TMP/err" || rc=$?
assert_eq 1 "$rc" "exit status when not root"
assert_match "must run as root" "$(cat "$TEST_TMP/err")" "message when not root"

# --help teaches: the cost, examples, how to read the report.
"$NT" callbacks --help >"$TEST_TMP/help" || fail "nodetap callbacks --help failed"
help=$(cat "$TEST_TMP/help")
assert_contains "COSTLY" "$help" "callbacks --help"
assert_contains "Examples:" "$help" "callbacks --help"
assert_contains "Reading the report" "$help" "callbacks --help"
assert_contains "--max-overhead PCT" "$help" "callbacks --help"
"$NT" --help >"$TEST_TMP/help" || fail "nodetap --help failed"
assert_match "callbacks +callbacks into JavaScript by kind" "$(cat "$TEST_TMP/help")" "callbacks in nodetap --help"

