#!/usr/bin/env bash
# nodetap SIGKILLed while attached leaves nothing of its own loaded, for every
# subcommand: no BPF program, no BPF link, no perf event (the uprobes and
# loop's CPU-clock sampler are perf events holding a program). The method of
# dns_lifecycle.sh: the ids of the programs and links THIS nodetap holds, read
# from its /proc/PID/fdinfo once it is attached, and its perf events from
# `bpftool perf show` (pid, fd, program); after SIGKILL none of those program
# or link ids is still loaded and no perf event holds one of those programs.
# Never a global count: other nodetaps may run on this machine meanwhile.
# uprobes are placed through the perf_event PMU (no tracefs here), so they
# exist only as those perf events. The figure per subcommand: how many
# programs, links and perf events it held, and how long they took to go.
. "$(dirname "$0")/../lib/common.sh"

NT=$REPO/nodetap
# A target every subcommand has something to probe in: lookups, connections
# to its own server, timers. Bounded: it exits after 120 s whatever happens.
cat >"$TEST_TMP/workload.js" <<'EOF'
const net = require('net'), dns = require('dns');
const srv = net.createServer(s => s.end('x')).listen(0, '127.0.0.1', () => {
	const port = srv.address().port;
	require('fs').writeFileSync(process.argv[2], `${process.pid}\n`);
	setInterval(() => {
		dns.lookup('localhost', () => {});
		const c = net.connect(port, '127.0.0.1');
		c.on('data', () => c.end());
		c.on('error', () => {});
	}, 100);
});
setTimeout(() => process.exit(0), 120000);
EOF
"$NODE" "$TEST_TMP/workload.js" "$TEST_TMP/ready" &
target=$!
on_exit kill_wait $target
# Until bash's child has exec'ed node, -p would find bash and no probe.
wait_for 60 "the workload listening" test -s "$TEST_TMP/ready"

# bpftool perf show walks every process's fds: one that exits meanwhile can
# make it fail. Retried, bounded.
perf_show() {
	local i out
	for ((i = 0; i < 20; i++)); do
		out=$(bpftool -j perf show 2>/dev/null) && { printf '%s\n' "$out"; return 0; }
		sleep 0.1
	done
	fail "bpftool perf show failed 20 times"
}

for sub in dns connect tcp loop callbacks; do
	out=$TEST_TMP/$sub.jsonl
	"$NT" $sub --json -p $target >"$out" 2>"$TEST_TMP/$sub.err" &
	nt=$!
	on_exit kill_wait $nt KILL
	# Attached: its probe records (loop: its sampler record) printed, and
	# programs and links in its fdinfo; then the same ids twice, 0.5 s apart
	# (a record can come before the last attach).
	ids_of() { { cat /proc/$nt/fdinfo/* 2>/dev/null || true; } | sed -n "s/^$1_id:[[:space:]]*//p" | sort -un; }
	for ((i = 0; ; i++)); do
		kill -0 $nt 2>/dev/null || fail "nodetap $sub exited before it was attached: $(cat "$TEST_TMP/$sub.err")"
		grep -qE '"type":"(probe|sampler)"' "$out" && [ -n "$(ids_of prog)" ] && [ -n "$(ids_of link)" ] && break
		[ $i -lt 600 ] || fail "nodetap $sub not attached after 60 s: programs '$(ids_of prog | tr '\n' ' ')', links '$(ids_of link | tr '\n' ' ')', output: $(head -c 600 "$out"), stderr: $(cat "$TEST_TMP/$sub.err")"
		sleep 0.1
	done
	settled() {
		local before
		before=$(ids_of prog; ids_of link)
		sleep 0.5
		[ "$before" = "$(ids_of prog; ids_of link)" ]
	}
	wait_for 60 "nodetap $sub: its program and link ids settled" settled
	progs=$(ids_of prog) links=$(ids_of link)
	perfs=$(perf_show | jq -c --argjson p $nt '[.[] | select(.pid == $p)]')
	nprogs=$(grep -c . <<<"$progs" || true) nlinks=$(grep -c . <<<"$links" || true)
	nperfs=$(jq length <<<"$perfs")
	assert_ge "$nprogs" 1 "$sub: BPF programs held before the kill"
	assert_ge $((nlinks + nperfs)) 1 "$sub: links or perf events held before the kill"
	kill_start=$(now_ms)
	kill -KILL $nt
	wait $nt 2>/dev/null || true
	perf_progs=$(jq -r '.[].prog_id' <<<"$perfs" | sort -un)
	gone() {
		local loaded_progs loaded_links perf_held
		loaded_progs=$(bpftool -j prog show | jq -r '.[].id' | sort -un)
		loaded_links=$(bpftool -j link show | jq -r '.[].id' | sort -un)
		perf_held=$(perf_show | jq -r '.[].prog_id' | sort -un)
		[ -z "$(comm -12 <(echo "$progs") <(echo "$loaded_progs") | grep .)" ] &&
			[ -z "$(comm -12 <(echo "$links") <(echo "$loaded_links") | grep .)" ] &&
			[ -z "$(comm -12 <(echo "$perf_progs") <(echo "$perf_held") | grep .)" ]
	}
	wait_for 30 "$sub: its programs, links and perf events gone after SIGKILL" gone
	echo "sigkill_cleanup: $sub: held $nprogs programs, $nlinks links, $nperfs perf events; all gone $(($(now_ms) - kill_start)) ms after SIGKILL"
done

kill -0 $target 2>/dev/null || fail "the traced process died with nodetap"
run_cleanups
assert_no_procs_left
