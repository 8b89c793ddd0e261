#!/usr/bin/env bash
# A -p process that execs a different binary gets its probes again. node
# v24 runs under `nodetap SUB -p PID --json`, makes K1 lookups (dns) or
# connects to localhost (connect), then process.execve()s node v20 (another
# file; the same pid). Probes placed for -p are bound to the file (a uprobe
# is on an inode): without placing them again, the new program's lookups
# would go unseen, and its connects would lose their hostname. The new
# program waits until nodetap has said that the target exec'd (its stderr
# line and its "target_exec" record), then makes K2 more. Ground truth:
# each program's own count. dns counts K1 + K2 lookups for that pid; connect
# names the host of all K1 + K2 connects, each seen through node's probes.
# callbacks (mode timers: K1 then K2 timers, one after the other, each due
# alone, so each is one run of node's timer list) counts K1 + K2 TIMERWRAP
# callbacks for that pid: its probes carry the index of their binary's facts
# (where provider_type_ is), so the new binary is analysed and its facts
# loaded before its probes are placed.
. "$(dirname "$0")/../lib/common.sh"

K1=3 K2=4
v24=$(NODETAP_TEST_NODES=24 "$TESTS_LIB/node-versions.sh") || fail "no node v24: $v24"
v20=/usr/bin/node
assert_match '^v20\.' "$("$v20" --version)" "$v20's version"

cat >"$TEST_TMP/app.js" <<'EOF2'
// MODE dns: lookups of localhost; connect: connects to localhost, to a
// listener of its own; timers: timers of 1 ms, one after the other. PHASE 1 (node v24): on SIGUSR2, N of them, then exec
// NEXT (node v20) with PHASE 2, which makes NEXT_N on SIGUSR2 and exits.
// Each phase writes what it made to BASE.PHASE.
const dns = require('dns'), net = require('net'), fs = require('fs');
const [mode, base, phase, n, next, nextN] = process.argv.slice(2);
const srv = net.createServer((s) => s.destroy()).listen(0, '127.0.0.1', () => {
	fs.writeFileSync(`${base}.ready${phase}`, `${process.pid} ${process.version}`);
});
function step(done) {
	if (mode === 'dns')
		return dns.lookup('localhost', { family: 4 }, (err) => done(!err));
	if (mode === 'timers')
		return setTimeout(() => done(true), 1);
	const s = net.connect({ port: srv.address().port, host: 'localhost', family: 4 });
	s.on('connect', () => { s.destroy(); done(true); });
	s.on('error', () => done(false));
}
process.on('SIGUSR2', () => {
	let left = +n, made = 0;
	const one = () => step((ok) => {
		if (ok) made++;
		if (--left > 0) return one();
		fs.writeFileSync(`${base}.${phase}`, String(made));
		// From an immediate: a callback that execs or exits never
		// returns, and the last timer's must (a callback is counted
		// when it returns).
		setImmediate(() => {
			if (next)
				process.execve(next, [next, __filename, mode, base, '2', nextN]);
			else
				process.exit(0);
		});
	});
	one();
});
setTimeout(() => process.exit(3), 60000);
EOF2

run_case() { # run_case SUB [MODE]: sets MADE, OUT, SAID_MS, APP
	local sub=$1 mode=${2:-$1} base=$TEST_TMP/$1 nt rc=0 start
	OUT=$TEST_TMP/$sub.jsonl
	"$v24" "$TEST_TMP/app.js" "$mode" "$base" 1 $K1 "$v20" $K2 &
	APP=$!
	on_exit kill_wait $APP
	wait_for 20 "the app (v24) ready" test -s "$base.ready1"

	"$REPO/nodetap" "$sub" --json -p $APP >"$OUT" 2>"$base.stderr" &
	nt=$!
	on_exit kill_wait $nt KILL
	if [[ $sub == callbacks ]]; then
		wait_for 30 "nodetap $sub attached" grep -q '"type":"probe","function":"node::AsyncWrap::MakeCallback.*"placed":true' "$OUT"
	else
		wait_for 30 "nodetap $sub attached" grep -q '"type":"probe","function":"uv__getaddrinfo_done".*"placed":true' "$OUT"
	fi

	kill -USR2 $APP
	wait_for 20 "the v24 program's $sub steps" test -s "$base.1"
	wait_for 20 "the app exec'd node v20" test -s "$base.ready2"
	assert_match "^$APP v20\\." "$(cat "$base.ready2")" "the same pid runs v20 now"
	start=$(now_ms)
	wait_for 30 "nodetap $sub saying pid $APP exec'd" \
		grep -q "pid $APP (node) exec'd $v20: its probes are placed again" "$base.stderr"
	SAID_MS=$(($(now_ms) - start))
	kill -USR2 $APP
	wait_for 20 "the v20 program's $sub steps" test -s "$base.2"
	wait $APP || true
	kill -TERM $nt
	wait $nt || rc=$?
	assert_eq 0 $rc "nodetap $sub's exit status after SIGTERM"
	MADE=$(($(cat "$base.1") + $(cat "$base.2")))
	assert_eq $((K1 + K2)) "$MADE" "$sub steps the two programs made"
	assert_jq "$OUT" "select(.type==\"target_exec\") | \"\\(.pid) \\(.file) \\(.failed)\"" "$APP $v20 0" \
		"$sub: the target_exec record"
	if [[ $sub == callbacks ]]; then
		assert_jq "$OUT" 'select(.type=="losses") | [.[] | numbers] | add' 0 "$sub: losses"
	else
		assert_jq "$OUT" 'select(.type=="losses") | .unmatched_completions + .inflight_full + .map_full' 0 \
			"$sub: losses"
	fi
}

run_case dns
counted=$(jq -s --argjson p $APP '[.[] | select(.type=="dns_summary" and .pid==$p and .host=="localhost") | .count] | add // 0' "$OUT")
echo "pid_exec_probes: dns: pid $APP: v24 made $K1 lookups, then exec'd v20, which made $K2: counted $counted of $MADE; nodetap said so within $SAID_MS ms of the exec being visible"
assert_eq "$MADE" "$counted" "lookups counted for pid $APP"

run_case connect
named=$(jq -s --argjson p $APP '[.[] | select(.type=="connect_summary" and .pid==$p and .host=="localhost") | .via_node] | add // 0' "$OUT")
all=$(jq -s --argjson p $APP '[.[] | select(.type=="connect_summary" and .pid==$p) | .established] | add // 0' "$OUT")
echo "pid_exec_probes: connect: pid $APP: $MADE connects made ($K1 before the exec), $all counted, $named named 'localhost' through node's probes; said within $SAID_MS ms"
assert_eq "$MADE" "$all" "connects counted for pid $APP"
assert_eq "$MADE" "$named" "connects with their hostname, seen by node's probes"

run_case callbacks timers
timers=$(jq -s --argjson p $APP '[.[] | select(.type=="callbacks_summary" and .pid==$p and .kind=="TIMERWRAP") | .count] | add // 0' "$OUT")
echo "pid_exec_probes: callbacks: pid $APP: $MADE timers run ($K1 in v24, then $K2 in v20), $timers TIMERWRAP callbacks counted; said within $SAID_MS ms"
assert_eq "$MADE" "$timers" "TIMERWRAP callbacks counted for pid $APP"
assert_eq 2 "$(jq -s '[.[] | select(.type=="callbacks_binary")] | length' "$OUT")" "binaries analysed (v24, then v20)"

run_cleanups
assert_no_procs_left
