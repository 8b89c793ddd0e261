#!/usr/bin/env bash
# timeout: 120
# A process whose /proc/PID/root is not the host's root (chroot): its
# binary is found and probed by its identity (that of /proc/PID/exe), never
# by the path it has inside (which names another file on the host). The
# link's text is the host's path to it here (the kernel writes it as seen
# from the reader's root), so /proc/PID/root must not be put in front of
# it: before that was checked, `-p` failed ("cannot open
# /proc/PID/root/<chroot>/usr/bin/node") and host-wide runs skipped it. The chroot holds a copy
# of node v22 at /usr/bin/node (on the host that path is node v20: a decoy
# with other offsets and another inode), its libraries, and an /etc/hosts
# of its own naming ONLY_HOST, which the host's does not know. The node in
# it makes its lookups on a signal; ground truth is its own count. Traced
# three ways: `nodetap dns -p PID`, `nodetap dns` host-wide (binaries found
# among running processes), and `nodetap monitor` (probes placed when the
# process is discovered). Each counts exactly the lookups made while it ran.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/monitor.sh"

K1=3 K2=4 K3=5
v22=$(NODETAP_TEST_NODES=22 "$TESTS_LIB/node-versions.sh") || fail "no node v22: $v22"
ROOT=$TEST_TMP/root
ONLY_HOST=only-in-chroot-$$.test
mkdir -p "$ROOT/usr/bin" "$ROOT/etc" "$ROOT/out"
cp "$(readlink -f "$v22")" "$ROOT/usr/bin/node"
# Its libraries where its loader looks for them, with the loader itself.
for lib in $(ldd "$v22" | grep -o '/[^ ]*'); do
	mkdir -p "$ROOT$(dirname "$lib")"
	cp -L "$lib" "$ROOT$lib"
done
printf '127.0.0.1 localhost\n127.0.0.1 %s\n' "$ONLY_HOST" >"$ROOT/etc/hosts"
echo 'hosts: files' >"$ROOT/etc/nsswitch.conf"
assert_eq "" "$(getent hosts "$ONLY_HOST" || true)" "the host cannot resolve $ONLY_HOST"
assert_match '^v20\.' "$(/usr/bin/node --version)" "the host's /usr/bin/node (the decoy)"

# On SIGUSR2: N lookups (N from /out/n) of ONLY_HOST, then the total made so
# far into /out/made.
cat >"$ROOT/app.js" <<EOF2
const dns = require('dns'), fs = require('fs');
let made = 0;
process.on('SIGUSR2', () => {
	let n = +fs.readFileSync('/out/n', 'utf8');
	const one = () => dns.lookup('$ONLY_HOST', { family: 4 }, (err) => {
		if (err) { fs.writeFileSync('/out/error', String(err)); return; }
		made++;
		if (--n > 0) one(); else fs.writeFileSync('/out/made', String(made));
	});
	one();
});
fs.writeFileSync('/out/ready', process.pid + ' ' + process.version);
setTimeout(() => process.exit(3), 100000);
EOF2
chroot "$ROOT" /usr/bin/node /app.js &
app=$!
on_exit kill_wait $app
wait_for 20 "node in the chroot ready" test -s "$ROOT/out/ready"
assert_match "^$app v22\\." "$(cat "$ROOT/out/ready")" "the chroot runs its node v22 (pid, version)"
assert_eq "$ROOT" "$(readlink /proc/$app/root)" "/proc/PID/root of the node"

lookups() { # lookups N: N lookups in the chroot's node; prints its total so far
	rm -f "$ROOT/out/made"
	echo "$1" >"$ROOT/out/n"
	kill -USR2 $app
	wait_for 20 "$1 lookups in the chroot" test -s "$ROOT/out/made" -o -s "$ROOT/out/error"
	[ ! -s "$ROOT/out/error" ] || fail "a lookup failed in the chroot: $(cat "$ROOT/out/error")"
}
dns_run() { # dns_run NAME N ARGS...: nodetap dns ARGS while N lookups are made; the count into COUNT
	local name=$1 n=$2 nt
	shift 2
	"$REPO/nodetap" dns --json "$@" >"$TEST_TMP/$name.jsonl" 2>"$TEST_TMP/$name.err" &
	nt=$!
	on_exit kill_wait $nt KILL
	# Placed in the chroot's file, whatever the path that reaches it.
	placed_in_chroot() {
		local f
		for f in $(jq -r 'select(.type=="probe" and .function=="uv__getaddrinfo_done" and .placed) | .file' \
			"$TEST_TMP/$name.jsonl"); do
			[ "$(stat -Lc %d:%i "$f" 2>/dev/null)" = "$CHROOT_NODE" ] && return 0
		done
		return 1
	}
	wait_for 30 "nodetap dns $* attached to the chroot's node" placed_in_chroot
	lookups "$n"
	kill -TERM $nt
	wait $nt || fail "nodetap dns $* exited $?: $(cat "$TEST_TMP/$name.err")"
	COUNT=$(jq -s --argjson p $app --arg h "$ONLY_HOST" \
		'[.[] | select(.type=="dns_summary" and .pid==$p and .host==$h) | .count] | add // 0' "$TEST_TMP/$name.jsonl")
}

CHROOT_NODE=$(stat -c %d:%i "$ROOT/usr/bin/node")
dns_run pid $K1 -p $app
by_pid=$COUNT
dns_run host $K2
host_wide=$COUNT

nt_monitor_start
in_metrics() { nt_metric_re "nodetap_event_loop_lag_seconds_count\\{pid=\"$app\",.*\\}" | grep -q .; }
wait_for 30 "the chroot's node in the monitor's /metrics" in_metrics
lookups $K3
counted() { nt_metric_re "nodetap_dns_lookups_total\\{pid=\"$app\",comm=\"[^\"]*\",host=\"$ONLY_HOST\",result=\"ok\"\\}"; }
for _ in $(seq 100); do [ "$(counted)" = $K3 ] && break; sleep 0.1; done
monitor=$(counted)
grep -qF "placed uv_getaddrinfo in $ROOT/usr/bin/node" "$NT_MON_ERR" ||
	fail "the monitor did not name the chroot's binary: $(cat "$NT_MON_ERR")"

echo "dns_chroot: node v22 in a chroot (the host's path /usr/bin/node is v20): dns -p counted ${by_pid} of $K1, dns host-wide ${host_wide} of $K2, monitor ${monitor:-none} of $K3"
assert_eq $K1 "$by_pid" "lookups counted by nodetap dns -p"
assert_eq $K2 "$host_wide" "lookups counted by nodetap dns (host-wide)"
assert_eq $K3 "${monitor:-none}" "lookups counted by nodetap monitor"
assert_eq $((K1 + K2 + K3)) "$(cat "$ROOT/out/made")" "lookups the chroot's node made"

run_cleanups
assert_no_procs_left
