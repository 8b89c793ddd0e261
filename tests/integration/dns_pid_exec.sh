#!/usr/bin/env bash
# A -p process that execs a different binary gets its probes again. node
# v24 runs under `nodetap dns -p PID --json`, makes K1 lookups, then
# process.execve()s node v20 (another file; the same pid). Probes placed for
# -p are bound to the file (a uprobe is on an inode): without placing them
# again, the new program's lookups would go unseen. The new program waits
# until nodetap has said that the target exec'd (its stderr line and its
# "target_exec" record), then makes K2 lookups. Ground truth: each program's
# own count. nodetap counts K1 + K2 for that pid, exactly.
. "$(dirname "$0")/../lib/common.sh"

K1=3 K2=4
v24=$(NODETAP_TEST_NODES=24 "$TESTS_LIB/node-versions.sh") || fail "no node v24: $v24"
v20=/usr/bin/node
assert_match '^v20\.' "$("$v20" --version)" "$v20's version"

cat >"$TEST_TMP/app.js" <<'EOF2'
// PHASE 1 (node v24): on SIGUSR2, K1 lookups, then exec node v20 with PHASE 2.
// PHASE 2: on SIGUSR2, K2 lookups. Each writes what it made to base.PHASE.
const dns = require('dns'), fs = require('fs');
const [base, phase, n, next, nextN] = process.argv.slice(2);
process.on('SIGUSR2', () => {
	let left = +n, made = 0;
	const one = () => dns.lookup('localhost', { family: 4 }, () => {
		made++;
		if (--left > 0) return one();
		fs.writeFileSync(`${base}.${phase}`, String(made));
		if (next)
			process.execve(next, [next, __filename, base, '2', nextN]);
		else
			process.exit(0);
	});
	one();
});
fs.writeFileSync(`${base}.ready${phase}`, `${process.pid} ${process.version}`);
setTimeout(() => process.exit(3), 60000);
EOF2

"$v24" "$TEST_TMP/app.js" "$TEST_TMP/app" 1 $K1 "$v20" $K2 &
app=$!
on_exit kill_wait $app
wait_for 20 "the app (v24) ready" test -s "$TEST_TMP/app.ready1"

out=$TEST_TMP/out.jsonl
"$REPO/nodetap" dns --json -p $app >"$out" 2>"$TEST_TMP/stderr" &
nt=$!
on_exit kill_wait $nt KILL
wait_for 30 "nodetap attached" grep -q '"type":"probe","function":"uv__getaddrinfo_done".*"placed":true' "$out"

kill -USR2 $app
wait_for 20 "the v24 lookups" test -s "$TEST_TMP/app.1"
wait_for 20 "the app exec'd node v20" test -s "$TEST_TMP/app.ready2"
assert_match "^$app v20\\." "$(cat "$TEST_TMP/app.ready2")" "the same pid runs v20 now"
start=$(now_ms)
wait_for 30 "nodetap saying pid $app exec'd" grep -q "pid $app (node) exec'd $v20: its probes are placed again" "$TEST_TMP/stderr"
said=$(($(now_ms) - start))
kill -USR2 $app
wait_for 20 "the v20 lookups" test -s "$TEST_TMP/app.2"
wait $app || true
kill -TERM $nt
rc=0
wait $nt || rc=$?
assert_eq 0 $rc "nodetap's exit status after SIGTERM"

made=$(($(cat "$TEST_TMP/app.1") + $(cat "$TEST_TMP/app.2")))
counted=$(jq -s --argjson p $app '[.[] | select(.type=="dns_summary" and .pid==$p and .host=="localhost") | .count] | add // 0' "$out")
echo "dns_pid_exec: pid $app: v24 made $(cat "$TEST_TMP/app.1"), then exec'd v20, which made $(cat "$TEST_TMP/app.2"): counted $counted of $made; nodetap said so within $said ms of the exec being visible"
assert_eq $((K1 + K2)) "$made" "lookups the two programs made"
assert_eq "$made" "$counted" "lookups counted for pid $app"
assert_jq "$out" "select(.type==\"target_exec\") | \"\\(.pid) \\(.file) \\(.placed) \\(.failed)\"" "$app $v20 3 0" \
	"the target_exec record"
assert_jq "$out" 'select(.type=="losses") | .unmatched_completions + .inflight_full + .map_full' 0 "losses"

run_cleanups
assert_no_procs_left
