#!/usr/bin/env bash
# timeout: 180
# nodetap monitor --config FILE, re-read on SIGHUP, against what node
# processes did (each resolves 5 names, answered by the test's DNS server,
# N times each, and reports its lookups):
#   top = 5: a first process gets a series for each of its 5 hosts;
#   top = 2 (SIGHUP): a second process gets 2 hosts and 3N lookups under
#     host="other", while the first keeps its 5 series and counts;
#   dns = off, connect = off, tcp = off, loop = off (SIGHUP): no uprobe
#     left, the lookups of a third process are not counted at all, nor the
#     refused connects of another; the monitor holds no link of a tcp program
#     or of the sampler any more (its own links, from its fdinfo);
#     dns = on, top = 3, connect, tcp, loop on (SIGHUP) while a fourth process
#     waits: its binary gets its uprobes again, and its lookups are counted
#     with 3 hosts, refused connects are counted again, the 5 tcp links and a
#     sampler link per CPU are back; the file's new
#     listen address is named as needing a
#     restart (and /metrics stays where it was), its freq = 97 is applied;
#   a file with an unknown key (SIGHUP): rejected with FILE:LINE, /healthz
#     still ok, and a fifth process is counted as before (top = 3);
#   the event log has a monitor_config record for each reload;
#   SIGTERM: exit 0, none of this monitor's programs or links left.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"
. "$TESTS_LIB/monitor.sh"
. "$TESTS_LIB/cli.sh"

N=2   # lookups of each name
NAMES=(n1.nodetap.test n2.nodetap.test n3.nodetap.test n4.nodetap.test n5.nodetap.test)
nt_netns_create
NS=$NT_NS
nt_dns_start "$NS" '{"n1.nodetap.test":{"a":"127.0.0.1"},"n2.nodetap.test":{"a":"127.0.0.1"},
	"n3.nodetap.test":{"a":"127.0.0.1"},"n4.nodetap.test":{"a":"127.0.0.1"},
	"n5.nodetap.test":{"a":"127.0.0.1"}}'
CONF=$TEST_TMP/monitor.conf
EVENTS=$TEST_TMP/monitor-events.jsonl   # nt_monitor_start's --log
NODE_FILE=$(readlink -f "$NODE")

# Started here rather than by nt_monitor_start, whose --listen would win
# over the file's.
NT_MON_PORT=$(nt_free_port)
OTHER_PORT=$(nt_free_port)
NT_MON_ERR=$TEST_TMP/monitor.err
cat >"$CONF" <<-EOF
	# nodetap monitor: the test's configuration
	listen = 127.0.0.1:$NT_MON_PORT
	top = 5
	grace = 600   # the clients' series stay to the end
EOF
"$REPO/nodetap" monitor --config "$CONF" -v --log "$EVENTS" 2>"$NT_MON_ERR" &
NT_MON_PID=$!
on_exit kill_wait "$NT_MON_PID" TERM 10
up() {
	kill -0 "$NT_MON_PID" 2>/dev/null || fail "nodetap monitor exited at start: $(cat "$NT_MON_ERR")"
	curl -sf "http://127.0.0.1:$NT_MON_PORT/healthz" | grep -qx ok
}
wait_for 30 "nodetap monitor answering /healthz" up

# client TAG: a node process that resolves NAMES once TAG.go exists; its
# pid in TAG.pid, what it saw in TAG.json.
client_start() {
	ip netns exec "$NS" "$NODE" "$TESTS_LIB/dns-client.js" --count $N --mode sequential \
		--ready-file "$TEST_TMP/$1.pid" --wait-file "$TEST_TMP/$1.go" --timeout-ms 60000 \
		--out "$TEST_TMP/$1.json" "${NAMES[@]}" &
	eval "CLIENT_$1=$!"
	on_exit kill_wait $!
	wait_for 30 "client $1 started" test -s "$TEST_TMP/$1.pid"
}
client_run() {
	local pid
	eval "pid=\$CLIENT_$1"
	touch "$TEST_TMP/$1.go"
	wait "$pid" || fail "client $1 exited $?"
	for n in "${NAMES[@]}"; do
		assert_jq "$TEST_TMP/$1.json" ".names[\"$n\"].ok" $N "client $1: lookups of $n"
	done
}
pid_of() { cat "$TEST_TMP/$1.pid"; }
# connector TAG: a node process that makes N connects to a closed port once
# TAG.cgo exists and writes {"pid":P,"refused":R} to TAG.conn.json; started,
# and let go once the monitor knows its pid (its tcp series show).
connector() {
	local tag=$1 pid
	ip netns exec "$NS" "$NODE" -e '
		const fs = require("fs"), net = require("net");
		const [go, out, n] = process.argv.slice(1);
		fs.writeFileSync(out + ".pid", String(process.pid));
		let refused = 0;
		function run(left) {
			if (!left)
				return fs.writeFileSync(out, JSON.stringify({ pid: process.pid, refused }));
			const s = net.connect(9101, "127.0.0.1");
			s.on("error", (e) => { refused += e.code === "ECONNREFUSED"; run(left - 1); });
			s.on("connect", () => { s.destroy(); run(left - 1); });
		}
		const t = setInterval(() => { if (fs.existsSync(go)) { clearInterval(t); run(Number(n)); } }, 20);
	' "$TEST_TMP/$tag.cgo" "$TEST_TMP/$tag.conn.json" $N &
	pid=$!
	on_exit kill_wait $pid
	wait_for 30 "connector $tag started" test -s "$TEST_TMP/$tag.conn.json.pid"
	known() { [ -n "$(nt_metric_re "nodetap_tcp_resets_total\\{pid=\"$(cat "$TEST_TMP/$tag.conn.json.pid")\",.*\\}")" ]; }
	wait_for 30 "connector $tag known to the monitor" known
	touch "$TEST_TMP/$tag.cgo"
	wait $pid || fail "connector $tag exited $?"
	assert_jq "$TEST_TMP/$tag.conn.json" .refused $N "connector $tag: refused connects"
}
# links_of PREFIX: how many of the monitor's links run a program whose name
# starts with PREFIX (tcp_: its 5 tracepoints; loop_sample: a sampler per CPU).
links_of() {
	local id prog
	for id in $(own_bpf_ids "$NT_MON_PID" link); do
		prog=$(bpftool -j link show id "$id" 2>/dev/null | jq -r '.prog_id // empty')
		[ -n "$prog" ] && bpftool -j prog show id "$prog" 2>/dev/null | jq -r .name
	done | grep -c "^$1" || true
}
refused() { nt_metric_re "nodetap_tcp_connects_total\\{pid=\"$(jqv "$TEST_TMP/$1.conn.json" .pid)\",.*,result=\"refused\"\\}"; }
# host TAG HOST_RE: lookups of client TAG under host HOST_RE
host() { nt_metric_re "nodetap_dns_lookups_total\\{pid=\"$(pid_of "$1")\",comm=\"[^\"]*\",host=\"$2\",result=\"ok\"\\}"; }
all_of() { nt_metric_re "nodetap_dns_lookups_total\\{pid=\"$(pid_of "$1")\",.*\\}"; }
# uprobes placed on this test's node binary, over the monitor's life (its log)
placed_on_node() {
	jq -c --arg f "$NODE_FILE" 'select(.type == "probe" and .placed and .file == $f)' "$EVENTS" | wc -l
}
reloads() { nt_metric "nodetap_config_reloads_total{result=\"$1\"}"; }
# hup N_APPLIED N_REJECTED: SIGHUP, then wait until the monitor counted it
hup() {
	kill -HUP "$NT_MON_PID"
	_hup_done() { [ "$(reloads applied)" = "$1" ] && [ "$(reloads rejected)" = "$2" ]; }
	wait_for 20 "reload counted ($1 applied, $2 rejected)" _hup_done "$1" "$2"
}
# expect_hosts TAG K: client TAG's first K names have series of their own
# with N lookups, the rest are N x (5 - K) under "other", nothing is lost.
expect_hosts() {
	local tag=$1 k=$2 i
	settled() { [ "$(all_of "$tag")" = $((5 * N)) ]; }
	for _ in $(seq 100); do settled && break; sleep 0.1; done
	for i in 0 1 2 3 4; do
		if [ $i -lt "$k" ]; then
			assert_eq $N "$(host "$tag" "${NAMES[$i]//./\\.}")" "client $tag: lookups of ${NAMES[$i]} (top $k)"
		else
			assert_eq "" "$(host "$tag" "${NAMES[$i]//./\\.}")" "client $tag: series of ${NAMES[$i]} (past top $k)"
		fi
	done
	local other=$(((5 - k) * N))
	[ $other -gt 0 ] || other=   # no series for nothing
	assert_eq "$other" "$(host "$tag" other)" "client $tag: lookups under host=\"other\" (top $k)"
	assert_eq $((5 * N)) "$(all_of "$tag")" "client $tag: every lookup, once"
}

# 1. top = 5.
client_start a
probed() { [ "$(placed_on_node)" -ge 3 ]; }
wait_for 30 "uprobes on $NODE_FILE" probed
client_run a
expect_hosts a 5

# 2. top = 2: new hosts past 2 go to "other"; a's series stay as they were.
sed -i 's/^top = 5$/top = 2/' "$CONF"
hup 1 0
assert_contains "configuration $CONF applied: top 5 -> 2" "$(cat "$NT_MON_ERR")" "monitor's words on the reload"
client_start b
client_run b
expect_hosts b 2
expect_hosts a 5

# 3. dns = off, connect = off: no uprobe left, nothing counted.
assert_eq 5 "$(links_of tcp_)" "links of tcp programs before tcp = off"
assert_eq "$(getconf _NPROCESSORS_ONLN)" "$(links_of loop_sample)" "sampler links before loop = off (one per CPU)"
printf 'dns = off\nconnect = off\ntcp = off\nloop = off\n' >>"$CONF"
hup 2 0
assert_eq 0 "$(nt_metric 'nodetap_uprobes{state="placed"}')" "uprobes placed with dns = off"
assert_eq 0 "$(nt_metric 'nodetap_feature_enabled{feature="dns"}')" "feature dns with dns = off"
client_start c
client_run c
sleep 1.5   # a tick: what the kernel counted would show by now
assert_eq "" "$(all_of c)" "series of client c (dns off)"
assert_eq 0 "$(nt_metric 'nodetap_feature_enabled{feature="connect"}')" "feature connect with connect = off"
assert_eq 0 "$(links_of tcp_)" "links of tcp programs with tcp = off"
assert_eq 0 "$(links_of loop_sample)" "sampler links with loop = off"
connector c
assert_eq "" "$(refused c)" "refused connects counted with connect = off"

# 4. dns = on again, top = 3, while client d waits: its binary gets its
# uprobes at the reload. listen cannot change while
# running, freq can.
client_start d
before=$(placed_on_node)
cat >"$CONF" <<-EOF
	listen = 127.0.0.1:$OTHER_PORT
	top = 3
	grace = 600
	dns = on
	freq = 97
EOF
hup 3 0
assert_eq 1 "$(nt_metric 'nodetap_feature_enabled{feature="dns"}')" "feature dns with dns = on"
assert_ge "$(placed_on_node)" $((before + 3)) "uprobes placed on $NODE_FILE again at the reload"
assert_contains "listen 127.0.0.1:$OTHER_PORT needs a restart; still serving on 127.0.0.1:$NT_MON_PORT" \
	"$(cat "$NT_MON_ERR")" "monitor's words on listen"
assert_contains "applied: top 2 -> 3, freq 49 -> 97, dns on, connect on, tcp on, loop on" "$(cat "$NT_MON_ERR")" "monitor's words on the reload"
rc=0
curl -sf --max-time 5 "http://127.0.0.1:$OTHER_PORT/healthz" >/dev/null || rc=$?
assert_ne 0 "$rc" "curl's exit status for the new listen address (not served before a restart)"
client_run d
expect_hosts d 3
assert_eq 5 "$(links_of tcp_)" "links of tcp programs with tcp on again"
assert_eq "$(getconf _NPROCESSORS_ONLN)" "$(links_of loop_sample)" "sampler links with loop on again"
connector d
refused_d() { [ "$(refused d)" = $N ]; }
for _ in $(seq 100); do refused_d && break; sleep 0.1; done
assert_eq $N "$(refused d)" "refused connects counted with connect on again"

# 5. A file with an error: nothing changes.
printf 'top = 1\ntopp = 4\n' >"$CONF"
hup 3 1
assert_match "monitor.conf:2: unknown key 'topp'.*the configuration in force stays" "$(cat "$NT_MON_ERR")" \
	"monitor's words on a bad file"
assert_eq 0 "$(nt_metric nodetap_config_last_reload_successful)" "last reload successful"
assert_eq ok "$(curl -sf "http://127.0.0.1:$NT_MON_PORT/healthz")" "/healthz after a rejected reload"
client_start e
client_run e
expect_hosts e 3

# The event log: one monitor_config record per reload.
assert_eq "applied applied applied rejected" \
	"$(jq -r 'select(.type == "monitor_config") | .result' "$EVENTS" | tr '\n' ' ' | sed 's/ $//')" \
	"monitor_config records"
assert_eq listen "$(jq -r 'select(.type == "monitor_config") | .restart_needed // empty' "$EVENTS")" \
	"restart_needed of the reloads"
assert_contains "monitor.conf:2: unknown key 'topp'" \
	"$(jq -r 'select(.type == "monitor_config" and .result == "rejected") | .error' "$EVENTS")" \
	"error of the rejected reload"

# SIGTERM: exit 0, and this monitor's programs and links are gone.
progs=$(own_bpf_ids "$NT_MON_PID" prog) links=$(own_bpf_ids "$NT_MON_PID" link)
assert_ge "$(echo "$links" | wc -w)" 5 "links held by the monitor"
kill -TERM "$NT_MON_PID"
rc=0
wait "$NT_MON_PID" || rc=$?
assert_eq 0 "$rc" "monitor exit status after SIGTERM"
wait_for 10 "the monitor's programs and links gone after SIGTERM" bpf_ids_gone "$progs" "$links"
