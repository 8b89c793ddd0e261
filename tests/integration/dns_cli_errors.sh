#!/usr/bin/env bash
# Bad input gets one clear line naming what is wrong, and the right exit
# status: 2 for usage errors, 1 for runtime failures. Nothing is left loaded.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/cli.sh"

NT=$REPO/nodetap
expect 2 "-p 'abc': not a process id" dns -p abc
expect 2 "-p '0': not a process id" dns -p 0
expect 2 "-p '12x': not a process id" dns -p 1,12x
expect 2 "-d '-1': not a duration" dns -d -1
expect 2 "-d '99999999999': not a duration" dns -d 99999999999
expect 2 "-d '1.5': not a duration" dns -d 1.5
expect 2 "interval '0': not a number of seconds" dns 0
expect 2 "count 'x': not a number of reports" dns 1 x
expect 2 "unexpected argument '3'" dns 1 2 3
expect 2 "unknown option '--frobnicate'" dns --frobnicate
expect 2 "-p needs a value" dns -p
expect 2 "'--' must be followed by a command" dns --
expect 2 "--sort 'size': sort by count, total, errors or host" dns --sort size
expect 2 "unknown subcommand 'dnz'" dnz

# A pid that does not exist (pid_max is far below this).
expect 1 "pid 4194000: no such process" dns -p 4194000

# A process that is not node: no probe can go there.
sleep 30 &
sleeper=$!
on_exit kill_wait $sleeper
"$NT" dns -p $sleeper -d 1 >"$TEST_TMP/out" 2>"$TEST_TMP/err" && fail "nodetap dns -p <sleep> succeeded"
assert_match "cannot place uv_getaddrinfo in .*sleep.*no symbol uv_getaddrinfo" "$(cat "$TEST_TMP/err")" "message for a process that is not node"
assert_match "no probe could be placed" "$(cat "$TEST_TMP/err")" "summary line for a process that is not node"

# Not root: refused before anything is loaded.
rc=0
setpriv --reuid=65534 --regid=65534 --clear-groups "$NT" dns -d 1 >/dev/null 2>"$TEST_TMP/err" || rc=$?
assert_eq 1 "$rc" "exit status when not root"
assert_match "must run as root" "$(cat "$TEST_TMP/err")" "message when not root"

# A node binary without uv_getaddrinfo (its name mangled in a stripped copy):
# each probe is named with the reason, and nodetap exits 1.
cp "$NODE" "$TEST_TMP/node-nouv"
strip --strip-all "$TEST_TMP/node-nouv"
perl -pi -e 's/uv_getaddrinfo\0/uv_getaddrinfX\0/g' "$TEST_TMP/node-nouv"
"$TEST_TMP/node-nouv" -e 'setTimeout(() => {}, 20000)' &
nouv=$!
on_exit kill_wait $nouv
rc=0
"$NT" dns -p $nouv -d 1 >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
assert_eq 1 "$rc" "exit status for a node without uv_getaddrinfo"
assert_match "cannot place uv_getaddrinfo in .*node-nouv.*no symbol uv_getaddrinfo" \
	"$(cat "$TEST_TMP/err")" "message for a node without uv_getaddrinfo"
assert_match "cannot place uv__getaddrinfo_done in .*node-nouv.*no symbol uv__getaddrinfo_done" \
	"$(cat "$TEST_TMP/err")" "message for its completion probe"

# A command that does not exist: 127, as a shell would.
rc=0
"$NT" dns -- /nonexistent/command >/dev/null 2>"$TEST_TMP/err" || rc=$?
assert_eq 127 "$rc" "exit status for a missing command"
assert_match "cannot run '/nonexistent/command'" "$(cat "$TEST_TMP/err")" "message for a missing command"

# --help teaches: examples and how to read the report, exit 0.
"$NT" dns --help >"$TEST_TMP/help" || fail "nodetap dns --help failed"
assert_contains "Examples:" "$(cat "$TEST_TMP/help")" "dns --help"
assert_contains "Reading the report" "$(cat "$TEST_TMP/help")" "dns --help"
"$NT" --help >/dev/null || fail "nodetap --help failed"

# None of the failures above left a BPF program loaded that no process holds
# (other nodetaps may run on this machine; theirs are held).
assert_no_orphan_progs "after the failures above" dns_start dns_done dns_return
