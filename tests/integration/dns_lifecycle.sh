#!/usr/bin/env bash
# How a run ends: -d, SIGTERM and Ctrl-C print the final report and exit 0;
# `-- COMMAND` exits with COMMAND's status; SIGKILL leaves no BPF program,
# link or uprobe behind (they die with nodetap's file descriptors).
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/cli.sh"

NT=$REPO/nodetap

"$NODE" -e 'setInterval(() => require("dns").lookup("localhost", () => {}), 100)' &
target=$!
on_exit kill_wait $target

# -d: stops by itself, with a final report.
start=$(now_ms)
"$NT" dns --json -p $target -d 1 >"$TEST_TMP/d.jsonl" 2>"$TEST_TMP/err" || fail "nodetap -d 1 exited $?: $(cat "$TEST_TMP/err")"
assert_lt $(($(now_ms) - start)) 5000 "ms for a 1 s run"
assert_jq "$TEST_TMP/d.jsonl" 'select(.type=="report") | .final' true "final report after -d"
assert_ge "$(jq -s '[.[] | select(.type=="dns_summary") | .count] | add // 0' "$TEST_TMP/d.jsonl")" 5 "lookups in 1 s at 10/s"

# SIGTERM and SIGINT: final report, exit 0.
for sig in TERM INT; do
	"$NT" dns --json -p $target >"$TEST_TMP/$sig.jsonl" 2>"$TEST_TMP/err" &
	nt=$!
	on_exit kill_wait $nt KILL
	wait_for 10 "probes placed" grep -q '"type":"probe"' "$TEST_TMP/$sig.jsonl"
	sleep 0.5
	kill -$sig $nt
	rc=0
	wait $nt || rc=$?
	assert_eq 0 "$rc" "exit status after SIG$sig"
	assert_jq "$TEST_TMP/$sig.jsonl" 'select(.type=="report") | .final' true "final report after SIG$sig"
done

# COMMAND's exit status is nodetap's.
rc=0
"$NT" dns -- "$NODE" -e 'process.exit(7)' >/dev/null 2>&1 || rc=$?
assert_eq 7 "$rc" "exit status of nodetap -- node -e 'process.exit(7)'"

# SIGKILL: nothing stays loaded. The very programs and links this nodetap
# held (ids from its fdinfo), not a global count that others move.
"$NT" dns -p $target >/dev/null 2>&1 &
nt=$!
on_exit kill_wait $nt KILL
# Three uprobes (start, completion, return): three links.
attached() { [ "$(own_bpf_ids $nt link | wc -l)" -ge 3 ]; }
wait_for 10 "nodetap dns attached (3 links in its fdinfo)" attached
progs=$(own_bpf_ids $nt prog) links=$(own_bpf_ids $nt link)
kill -KILL $nt
wait $nt 2>/dev/null || true
wait_for 10 "its programs and links gone after SIGKILL" bpf_ids_gone "$progs" "$links"

# -- COMMAND traces COMMAND's children (here a shell's two node children: 2
# and 3 lookups) and nothing else: the node started above keeps looking up
# localhost ten times a second meanwhile, and none of that is counted.
js='const dns = require("dns"); let n = +process.argv[1]; const go = () => dns.lookup("child.invalid", () => { if (--n) go(); }); go();'
"$NT" dns --json -- bash -c "\"$NODE\" -e '$js' 2 && \"$NODE\" -e '$js' 3" >"$TEST_TMP/kids.jsonl" 2>"$TEST_TMP/err" ||
	fail "nodetap -- bash -c exited $?: $(cat "$TEST_TMP/err")"
assert_eq 5 "$(jq -s '[.[] | select(.type=="dns_summary" and .host=="child.invalid") | .count] | add' "$TEST_TMP/kids.jsonl")" "lookups of COMMAND's children"
assert_eq 2 "$(jq -s '[.[] | select(.type=="dns_summary") | .pid] | unique | length' "$TEST_TMP/kids.jsonl")" "processes counted"
assert_eq 0 "$(jq -s '[.[] | select(.type=="dns_summary" and .host=="localhost")] | length' "$TEST_TMP/kids.jsonl")" "records of the process that is not COMMAND's"
