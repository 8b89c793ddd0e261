#!/usr/bin/env bash
# The traced processes exit, crash or exec in the middle of a run: nodetap
# keeps running, reports what each one did, and exits 0 at the end. Three node
# processes (v24, which has process.execve), traced with `nodetap dns -p`:
#   exit:  K lookups of exit.nodetap.test, then process.exit(0)
#   segv:  K lookups of segv.nodetap.test, then process.kill(pid, 'SIGSEGV')
#   exec:  K lookups of exec1.nodetap.test, then process.execve of node itself
#          (same pid, new image) making K2 lookups of exec2.nodetap.test
# Ground truth: each process's own count of lookups that completed. nodetap
# must count exactly those per (pid, host), still run after all three are
# gone, and print its final report on SIGTERM with status 0.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"

NODE24=/var/cache/nodetap/node-v24/bin/node
[ -x "$NODE24" ] || fail "$NODE24 missing: build it with scripts/node-builds.sh (process.execve needs node >= 23.11)"
K=5 K2=3

nt_netns_create
zone='{"exit.nodetap.test":{"a":"127.0.0.1"},"segv.nodetap.test":{"a":"127.0.0.1"},
"exec1.nodetap.test":{"a":"127.0.0.1"},"exec2.nodetap.test":{"a":"127.0.0.1"}}'
NODE=$NODE24 nt_dns_start "$NT_NS" "$zone"

# fate.js FATE NAME COUNT DONEFILE GO: writes DONEFILE.ready, waits for GO, makes COUNT
# sequential lookups of NAME, appends "NAME OK" to DONEFILE, then meets FATE.
cat >"$TEST_TMP/fate.js" <<'EOF'
const fs = require('fs'), dns = require('dns');
const [fate, name, count, done, go] = process.argv.slice(2);
const start = () => {
	let left = +count, ok = 0;
	const next = () => {
		if (!left--) return finish(ok);
		dns.lookup(name, { family: 4 }, (err) => { if (!err) ok++; next(); });
	};
	next();
};
const finish = (ok) => {
	fs.appendFileSync(done, `${name} ${ok}\n`);
	if (fate === 'exit') process.exit(0);
	if (fate === 'segv') process.kill(process.pid, 'SIGSEGV');
	if (fate === 'exec')
		process.execve(process.execPath, [process.execPath, __filename, 'exit', 'exec2.nodetap.test', process.env.K2, done, go]);
};
if (!fs.existsSync(go)) fs.writeFileSync(`${done}.ready`, `${process.pid}\n`);
const wait = () => fs.existsSync(go) ? start() : setTimeout(wait, 20);
setTimeout(() => process.exit(3), 60000).unref();
wait();
EOF
go=$TEST_TMP/go
pids=()
for fate in exit segv exec; do
	name=$fate.nodetap.test
	[ $fate = exec ] && name=exec1.nodetap.test
	K2=$K2 ip netns exec "$NT_NS" "$NODE24" "$TEST_TMP/fate.js" $fate $name $K "$TEST_TMP/$fate.done" "$go" \
		2>"$TEST_TMP/$fate.err" &
	pids+=($!)
	on_exit kill_wait $!
done

# Attach once every one of them runs node (ip netns exec has exec'ed it):
# probes placed in `ip` would see nothing.
for fate in exit segv exec; do
	wait_for 60 "$fate.js started" test -s "$TEST_TMP/$fate.done.ready"
done
"$REPO/nodetap" dns --json -p "$(IFS=,; echo "${pids[*]}")" >"$TEST_TMP/out.jsonl" 2>"$TEST_TMP/stderr" &
nt=$!
on_exit kill_wait $nt KILL
wait_for 60 "nodetap attached" grep -q '"type":"probe"' "$TEST_TMP/out.jsonl"
touch "$go"

# Each meets its fate: their exit statuses as ground truth of what happened.
# Bounded: each gives up after 60 s (exit 3) on its own.
st=()
for i in 0 1 2; do
	rc=0
	wait ${pids[i]} || rc=$?
	st+=($rc)
done
assert_eq "0 $((128 + 11)) 0" "${st[*]}" "exit statuses of exit, segv, exec"
assert_eq "exit.nodetap.test $K" "$(cat "$TEST_TMP/exit.done")" "exit: its lookups"
assert_eq "segv.nodetap.test $K" "$(cat "$TEST_TMP/segv.done")" "segv: its lookups"
assert_eq "exec1.nodetap.test $K"$'\n'"exec2.nodetap.test $K2" "$(cat "$TEST_TMP/exec.done")" "exec: its lookups before and after execve"

# nodetap outlives all three, then ends on SIGTERM with its final report.
sleep 1
kill -0 $nt 2>/dev/null || fail "nodetap exited when its targets did: $(cat "$TEST_TMP/stderr")"
kill -TERM $nt
rc=0
wait $nt || rc=$?
assert_eq 0 $rc "nodetap's exit status after SIGTERM"
out=$TEST_TMP/out.jsonl
assert_jq "$out" 'select(.type=="report") | .final' true "final report"
count() { jq -s --arg h "$1" --argjson p "$2" '[.[] | select(.type=="dns_summary" and .host==$h and .pid==$p) | .count] | add // 0' "$out"; }
got="exit=$(count exit.nodetap.test ${pids[0]}) segv=$(count segv.nodetap.test ${pids[1]}) exec1=$(count exec1.nodetap.test ${pids[2]}) exec2=$(count exec2.nodetap.test ${pids[2]})"
echo "target_fates: lookups counted: $got (made: exit=$K segv=$K exec1=$K exec2=$K2); stderr: $(tr '\n' ' ' <"$TEST_TMP/stderr")"
assert_eq "exit=$K segv=$K exec1=$K exec2=$K2" "$got" "lookups counted per process and name"
assert_jq "$out" 'select(.type=="losses") | [.ring_buffer_drops, .map_full, .inflight_full, .unmatched_completions] | add' 0 "losses"

run_cleanups
assert_no_procs_left
