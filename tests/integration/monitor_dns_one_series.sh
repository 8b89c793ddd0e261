#!/usr/bin/env bash
# timeout: 90
# One hostname is one series. A thread's lookups reuse the same in-flight
# buffer in BPF, and the hostname of the next lookup is read over the last
# one's: the bytes after a short name's NUL must not differ from lookup to
# lookup, or a short name after two different long names becomes two kernel
# rows, and `nodetap monitor` printed two series with the same labels (a
# scrape Prometheus rejects). Ground truth: the app alternates two long
# names with one short name, one lookup after the other on its main thread;
# the short name must come out as exactly one series counting every lookup.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"
. "$TESTS_LIB/monitor.sh"

R=6
tag=one-$$
long1=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.$tag.test
long2=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.$tag.test
short=s.$tag.test
nt_netns_create
printf '127.0.0.1 localhost\n127.0.0.1 %s\n127.0.0.1 %s\n127.0.0.1 %s\n' \
	"$long1" "$long2" "$short" >"/etc/netns/$NT_NS/hosts"
cat >"$TEST_TMP/alternate.js" <<'EOF2'
// On SIGUSR2: R rounds of long1, short, long2, short, one after the other;
// then the lookups of SHORT that succeeded into OUT.
const dns = require('dns'), fs = require('fs');
const [r, long1, long2, short, out] = [+process.argv[2], ...process.argv.slice(3)];
const names = [];
for (let i = 0; i < r; i++) names.push(long1, short, long2, short);
process.on('SIGUSR2', () => {
	let i = 0, ok = 0;
	const one = () => dns.lookup(names[i], { family: 4 }, (err) => {
		if (!err && names[i] === short) ok++;
		if (++i < names.length) return one();
		fs.writeFileSync(out, String(ok));
	});
	one();
});
fs.writeFileSync(out + '.ready', String(process.pid));
setTimeout(() => process.exit(3), 60000);
EOF2

nt_monitor_start
ip netns exec "$NT_NS" "$NODE" "$TEST_TMP/alternate.js" $R "$long1" "$long2" "$short" "$TEST_TMP/made" &
app=$!
on_exit kill_wait $app
wait_for 20 "the app ready" test -s "$TEST_TMP/made.ready"
nt_wait_in_metrics $app "the app"
kill -USR2 $app
wait_for 30 "the app's lookups" test -s "$TEST_TMP/made"
assert_eq $((2 * R)) "$(cat "$TEST_TMP/made")" "lookups of the short name the app made"
series() { nt_metrics | grep -F "nodetap_dns_lookups_total{pid=\"$app\"" | grep -F "host=\"$short\"" || true; }
all_counted() { [ "$(series | awk '{ s += $NF } END { print s + 0 }')" -ge $((2 * R)) ]; }
wait_for 30 "every lookup of $short counted" all_counted
lines=$(series)
echo "monitor_dns_one_series: $((2 * R)) lookups of $short between two longer names; series: $(grep -c . <<<"$lines")"
assert_eq 1 "$(grep -c . <<<"$lines")" "series of $short (one label set, one series)"
assert_eq $((2 * R)) "$(awk '{ print $NF }' <<<"$lines")" "lookups of $short in its series"

run_cleanups
assert_no_procs_left
