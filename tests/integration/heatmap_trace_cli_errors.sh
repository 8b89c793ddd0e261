#!/usr/bin/env bash
# --heatmap, --heatmap-column and nodetap trace: bad input gets one clear line
# naming what is wrong and exit status 2; a heat map or trace that cannot be
# written is a runtime failure (1) that names the file; --help teaches.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/cli.sh"

NT=$REPO/nodetap

for cmd in dns connect loop callbacks; do
	expect 2 "--heatmap-column needs --heatmap FILE.svg\|- or --html FILE" $cmd --heatmap-column 2
	expect 2 "--html: give a file name" $cmd --html ''
	expect 2 "--html needs a value" $cmd --html
	expect 2 "--heatmap-column '0': not a number of seconds" $cmd --heatmap x.svg --heatmap-column 0
	expect 2 "--heatmap-column '0.001': not a number of seconds" $cmd --heatmap x.svg --heatmap-column 0.001
	expect 2 "--heatmap-column '5000': not a number of seconds" $cmd --heatmap x.svg --heatmap-column 5000
	expect 2 "--heatmap-column '1s': not a number of seconds" $cmd --heatmap x.svg --heatmap-column 1s
	expect 2 "--heatmap-column '-1': not a number of seconds" $cmd --heatmap x.svg --heatmap-column -1
	expect 2 "--heatmap: give a file name" $cmd --heatmap ''
	expect 2 "--heatmap needs a value" $cmd --heatmap
	expect 2 "--heatmap - draws on stdout: it excludes --json" $cmd --heatmap - --json
	if [ $cmd = callbacks ]; then
		expect 2 "--events is not an option of this subcommand" $cmd --heatmap - --events
	else
		expect 2 "--heatmap - draws on stdout: it excludes --events" $cmd --heatmap - --events
	fi
	"$NT" $cmd --help >"$TEST_TMP/help"
	assert_contains "--heatmap FILE.svg" "$(cat "$TEST_TMP/help")" "$cmd --help"
	assert_contains "--heatmap-column SECONDS" "$(cat "$TEST_TMP/help")" "$cmd --help"
	assert_contains "--html FILE" "$(cat "$TEST_TMP/help")" "$cmd --help"
	assert_contains "flame graph" "$(cat "$TEST_TMP/help")" "$cmd --help"
done

expect 2 "-o FILE is required" trace
expect 2 "-o: give a file name" trace -o ''
expect 2 "--json: the trace is JSON already" trace -o t.json --json
expect 2 "an interval: trace writes one file" trace -o t.json 5
expect 2 "--events is not an option of this subcommand" trace -o t.json --events
expect 2 "unknown option '--heatmap'" trace -o t.json --heatmap x.svg
"$NT" trace --help >"$TEST_TMP/help"
assert_contains "nodetap trace -o trace.json -- node app.js" "$(cat "$TEST_TMP/help")" "trace --help"
assert_contains "trace" "$("$NT" --help)" "nodetap --help lists trace"

# Files that cannot be written: named, exit 1, nothing left behind.
rc=0
"$NT" dns --heatmap "$TEST_TMP/no/such/dir/x.svg" -- true >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
assert_eq 1 "$rc" "exit status with an unwritable heat map"
assert_contains "cannot write the heat map to $TEST_TMP/no/such/dir/x.svg: No such file or directory" "$(cat "$TEST_TMP/err")" "message"
rc=0
"$NT" connect --html "$TEST_TMP/no/such/dir/r.html" -- true >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
assert_eq 1 "$rc" "exit status with an unwritable HTML report"
assert_contains "cannot write the HTML report to $TEST_TMP/no/such/dir/r.html: No such file or directory" "$(cat "$TEST_TMP/err")" "message"
rc=0
"$NT" trace -o "$TEST_TMP/no/such/dir/t.json" -- true >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
assert_eq 1 "$rc" "exit status with an unwritable trace"
assert_contains "cannot write $TEST_TMP/no/such/dir/t.json.tmp." "$(cat "$TEST_TMP/err")" "message"
assert_no_procs_left
