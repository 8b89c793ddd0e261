#!/usr/bin/env bash
# nodetap callbacks' per-thread map (threads: the callbacks a thread is in,
# kept from its first callback to its exit) full: every callback of a thread
# that did not fit is counted as inflight_full, and the thread kept is
# exact. threads is shrunk to 1 row (NODETAP_TEST_MAP_ENTRIES, a test-only
# setting). Under `nodetap callbacks --json -- sh -c ...`, node process A
# makes M fs.stat callbacks, one after the other (its main thread takes the
# row), then waits, blocked, while node process B makes W fs.stat callbacks
# and exits from the last one (process.exit: no 'beforeExit' or 'exit'
# callback from C++ follows). Ground truth: each process's own count. A's M
# callbacks are counted exactly; B has no row; inflight_full is exactly W
# (B's W callback entries); no other loss.
. "$(dirname "$0")/../lib/common.sh"

M=3 W=5
cat >"$TEST_TMP/a.js" <<'EOF2'
// M fs.stat callbacks; then, from an immediate, writes READY and blocks
// (no callback of its own) until DONE exists.
const fs = require('fs');
const [m, ready, done] = [+process.argv[2], process.argv[3], process.argv[4]];
let n = 0;
const one = () => fs.stat('/', () => {
	if (++n < m) return one();
	setImmediate(() => {
		fs.writeFileSync(ready, `${process.pid} ${n}`);
		const nap = new Int32Array(new SharedArrayBuffer(4));
		for (const end = Date.now() + 60000; !fs.existsSync(done) && Date.now() < end;)
			Atomics.wait(nap, 0, 0, 20);
		process.exit(0);
	});
});
one();
EOF2
cat >"$TEST_TMP/b.js" <<'EOF2'
// W fs.stat callbacks; writes "pid made" and exits from the last one.
const fs = require('fs');
const [w, out] = [+process.argv[2], process.argv[3]];
let n = 0;
const one = () => fs.stat('/', () => {
	if (++n < w) return one();
	fs.writeFileSync(out, `${process.pid} ${n}`);
	process.exit(0);
});
one();
EOF2

out=$TEST_TMP/out.jsonl
T=$TEST_TMP
NODETAP_TEST_MAP_ENTRIES=threads=1 timeout -k 5 120 "$REPO/nodetap" callbacks --json -- sh -c "
	'$NODE' '$T/a.js' $M '$T/a.ready' '$T/done' &
	for i in \$(seq 600); do [ -s '$T/a.ready' ] && break; sleep 0.1; done
	'$NODE' '$T/b.js' $W '$T/b.made'
	touch '$T/done'
	wait" >"$out" 2>"$T/stderr" || fail "nodetap exited $?: $(cat "$T/stderr")"
assert_file "$T/a.ready" "A's count"
assert_file "$T/b.made" "B's count"
read -r apid amade <"$T/a.ready" || true  # (no newline at its end)
read -r bpid bmade <"$T/b.made" || true
assert_eq "$M $W" "$amade $bmade" "callbacks A and B made"
acount=$(jq -s --argjson p "$apid" '[.[] | select(.type=="callbacks_summary" and .pid==$p and .kind=="FSREQCALLBACK") | .count] | add // 0' "$out")
brows=$(jq -s --argjson p "$bpid" '[.[] | select(.type=="callbacks_summary" and .pid==$p)] | length' "$out")
lost=$(jqv "$out" 'select(.type=="losses") | .inflight_full')
echo "callbacks_threads_full: threads of 1 row: A (pid $apid) made $M, counted $acount; B (pid $bpid) made $W, rows $brows; inflight_full $lost (want $W)"
assert_eq $M "$acount" "A's callbacks (the thread kept)"
assert_eq 0 "$brows" "B's rows (its thread did not fit)"
assert_eq $W "$lost" "inflight_full: B's callbacks"
assert_jq "$out" 'select(.type=="losses") | [.[] | numbers] | add' $W "no other loss"

run_cleanups
assert_no_procs_left
