#!/usr/bin/env bash
# connect's own options: bad values are usage errors that name the argument.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/cli.sh"

expect 2 "-P '0': not a port" connect -P 0
expect 2 "-P '65536': not a port" connect -P 443,65536
expect 2 "-P 'https': not a port" connect -P https
expect 2 "-4 and -6 exclude each other" connect -4 -6
expect 2 "--all traces every process: it excludes -p" connect --all -p 1
expect 2 "-p 'x': not a process id" connect -p x
expect 1 "pid 4194000: no such process" connect -p 4194000
"$REPO/nodetap" connect --help >"$TEST_TMP/help" || fail "connect --help failed"
assert_contains "who connects to port 443?" "$(cat "$TEST_TMP/help")" "connect --help"
