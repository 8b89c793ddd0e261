#!/usr/bin/env bash
# Events reach the output while the traced process runs, not when it ends:
# the BPF side submits most records without waking the reader, and the
# session must read them at its next poll (0.1 s) anyway. A node process
# makes one lookup and then waits until the test has seen that lookup's line
# from nodetap dns --events; if the line came only at the end, the two would
# wait for each other until the node process gives up (exit 3) and the test
# fails.
. "$(dirname "$0")/../lib/common.sh"

seen=$TEST_TMP/seen
out=$TEST_TMP/events.txt
bg "$REPO/nodetap" dns --events -- "$NODE" -e '
	const fs = require("fs");
	require("dns").lookup("localhost", () => {
		const t0 = Date.now();
		const iv = setInterval(() => {
			if (fs.existsSync(process.argv[1])) { clearInterval(iv); process.exit(0); }
			if (Date.now() - t0 > 20000) process.exit(3);
		}, 20);
	});' "$seen" >"$out" 2>"$TEST_TMP/stderr"
nt=$BG_PID
wait_for 15 "the lookup's line while the process runs" grep -q ' localhost$' "$out"
touch "$seen"
rc=0
wait "$nt" || rc=$?
assert_eq 0 "$rc" "exit status of nodetap (the node process's own: 3 if it gave up waiting)"
assert_eq 1 "$(grep -c ' localhost$' "$out")" "lookup lines"
