#!/usr/bin/env bash
# connect's own options: bad values are usage errors that name the argument.
. "$(dirname "$0")/../lib/common.sh"

expect() {
	local want=$1 pattern=$2 rc=0
	shift 2
	"$REPO/nodetap" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || rc=$?
	assert_eq "$want" "$rc" "exit status of nodetap $*"
	assert_match "$pattern" "$(cat "$TEST_TMP/err")" "message of nodetap $*"
	assert_eq 1 "$(wc -l <"$TEST_TMP/err")" "lines on stderr from nodetap $*"
}
expect 2 "-P '0': not a port" connect -P 0
expect 2 "-P '65536': not a port" connect -P 443,65536
expect 2 "-P 'https': not a port" connect -P https
expect 2 "-4 and -6 exclude each other" connect -4 -6
expect 2 "--all traces every process: it excludes -p" connect --all -p 1
expect 2 "-p 'x': not a process id" connect -p x
expect 1 "pid 4194000: no such process" connect -p 4194000
"$REPO/nodetap" connect --help >"$TEST_TMP/help" || fail "connect --help failed"
assert_contains "who connects to port 443?" "$(cat "$TEST_TMP/help")" "connect --help"
