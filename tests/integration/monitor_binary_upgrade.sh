#!/usr/bin/env bash
# timeout: 120
# The node binary is replaced (an upgrade) while `nodetap monitor` runs.
# DIR/node is a copy of node v20; a process (old) runs it; the monitor
# starts and probes that file. Then the file is replaced as a package
# manager does (write DIR/.node.new, a node v22, and rename it over
# DIR/node) and a second process (new) starts from DIR/node: a new file (a
# new inode), which the monitor must probe too. Each process makes its
# lookups on a signal; ground truth is each one's own count. The old one
# keeps being counted after the replacement, the new one is counted, and
# once the old one has exited and the monitor removed it, the probes on the
# replaced file are gone (this monitor's own link ids) while the new one is
# still counted. A second monitor started after the upgrade, which finds
# the old process running a file that no path names any more (probed
# through /proc/PID/exe), releases it as well. (Probes and their links are checked as the perf events this
# monitor holds: bpftool perf show names each uprobe's file and offset.)
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/monitor.sh"
. "$TESTS_LIB/cli.sh"

K1=3 K2=2 K3=4 K4=5
v20=/usr/bin/node
v22=$(NODETAP_TEST_NODES=22 "$TESTS_LIB/node-versions.sh") || fail "no node v22: $v22"
DIR=$TEST_TMP/opt/bin
mkdir -p "$DIR"
cp "$v20" "$DIR/node"

# On SIGUSR2, N lookups of localhost (N from the file ARG.n), one after the
# other; then the total made so far into ARG.made.
cat >"$TEST_TMP/app.js" <<'EOF2'
const dns = require('dns'), fs = require('fs');
const base = process.argv[2];
let made = 0;
process.on('SIGUSR2', () => {
	let n = +fs.readFileSync(base + '.n', 'utf8');
	const one = () => dns.lookup('localhost', { family: 4 }, () => {
		made++;
		if (--n > 0) one(); else fs.writeFileSync(base + '.made', String(made));
	});
	one();
});
fs.writeFileSync(base + '.ready', String(process.pid));
setTimeout(() => process.exit(3), 100000);
EOF2

start_app() { # start_app NAME: sets PID_NAME once it is ready
	"$DIR/node" "$TEST_TMP/app.js" "$TEST_TMP/$1" &
	on_exit kill_wait $!
	printf -v "PID_$1" %s $!
	wait_for 20 "app $1 ready" test -s "$TEST_TMP/$1.ready"
}
lookups() { # lookups NAME N: make N lookups in app NAME, wait until done
	local pid=PID_$1
	rm -f "$TEST_TMP/$1.made"
	echo "$2" >"$TEST_TMP/$1.n"
	kill -USR2 "${!pid}"
	wait_for 20 "app $1's $2 lookups" test -s "$TEST_TMP/$1.made"
}
counted() { # counted PID: the monitor's count of its lookups of localhost
	nt_metric_re "nodetap_dns_lookups_total\\{pid=\"$1\",comm=\"[^\"]*\",host=\"localhost\",result=\"ok\"\\}"
}
expect_count() { # expect_count PID N WHAT
	for _ in $(seq 100); do [ "$(counted "$1")" = "$2" ] && break; sleep 0.1; done
	assert_eq "$2" "$(counted "$1")" "$3"
}
uprobes_of() { # uprobes_of MONITOR_PID FILE: its uprobes on FILE, as "fd offset" lines
	# Other tests' node processes get probes of a host-wide monitor too,
	# on their own files: only FILE's are compared.
	bpftool -j perf show | jq -r --argjson p "$1" --arg f "$2" \
		'.[] | select(.pid == $p and .filename == $f) | "\(.fd) \(.offset)"' | sort
}
uprobe_links() { uprobes_of "$NT_MON_PID" "$DIR/node"; }

start_app old
nt_monitor_start
nt_wait_in_metrics "$PID_old" "the old process"
lookups old $K1
expect_count "$PID_old" $K1 "old process, before the upgrade"
old_links=$(uprobe_links)
assert_eq 3 "$(echo "$old_links" | grep -c .)" "uprobes on DIR/node (the old file)"

# The upgrade: a new file renamed over the old path.
cp "$v22" "$DIR/.node.new"
mv -f "$DIR/.node.new" "$DIR/node"
start_app new
assert_match '^v22\.' "$("$DIR/node" --version)" "the new file's version"
nt_wait_in_metrics "$PID_new" "the new process"
lookups new $K3
lookups old $K2
expect_count "$PID_new" $K3 "new process, after the upgrade"
expect_count "$PID_old" $((K1 + K2)) "old process, after the upgrade"
both_links=$(uprobe_links)
assert_eq 6 "$(echo "$both_links" | grep -c .)" "uprobes on DIR/node (the old and the new file)"

# A second monitor, started after the upgrade: the old process's file is
# gone from every path, so it is probed through /proc/PID/exe.
MON1_PID=$NT_MON_PID MON1_PORT=$NT_MON_PORT
nt_monitor_start
MON2_PID=$NT_MON_PID
seen_by_2() { [ "$(uprobes_of "$MON2_PID" "/proc/$PID_old/exe" | grep -c .)" = 3 ] &&
	[ "$(uprobes_of "$MON2_PID" "$DIR/node" | grep -c .)" = 3 ]; }
wait_for 30 "the second monitor's probes on the old (via /proc/PID/exe) and the new file" seen_by_2
NT_MON_PID=$MON1_PID NT_MON_PORT=$MON1_PORT

# The old one exits: once the monitors have removed it, nothing holds the
# replaced file's probes.
kill -TERM "$PID_old"
wait "$PID_old" || true
start=$(now_ms)
gone() { [ "$(uprobe_links)" = "$(comm -23 <(echo "$both_links") <(echo "$old_links"))" ]; }
wait_for 60 "the old file's uprobe links released" gone
released=$(($(now_ms) - start))
gone_2() { [ -z "$(uprobes_of "$MON2_PID" "/proc/$PID_old/exe")" ]; }
wait_for 60 "the second monitor's uprobes on the old file released" gone_2
assert_eq 3 "$(uprobes_of "$MON2_PID" "$DIR/node" | grep -c .)" "the second monitor's uprobes on the new file"
lookups new $K4
expect_count "$PID_new" $((K3 + K4)) "new process, after the old one exited"
left=$(uprobe_links)
assert_eq 3 "$(echo "$left" | grep -c .)" "uprobes left on DIR/node (the new file's)"
assert_eq "" "$(comm -12 <(cut -d' ' -f2 <<<"$left" | sort -u) <(cut -d' ' -f2 <<<"$old_links" | sort -u))" \
	"offsets of the old file's probes among those left (v20's and v22's differ)"
echo "monitor_binary_upgrade: old (v20) counted $((K1 + K2)) of $((K1 + K2)) (K2 after the replacement), new (v22, same path) $((K3 + K4)) of $((K3 + K4)); uprobes on DIR/node 3 > 6 > 3, the replaced file's released $released ms after its last process exited (and by a monitor started after the upgrade, which probed it through /proc/PID/exe)"
kill -0 "$NT_MON_PID" || fail "the monitor exited: $(cat "$NT_MON_ERR")"

run_cleanups
assert_no_procs_left
