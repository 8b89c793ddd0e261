#!/usr/bin/env bash
# per-node: yes
# timeout: 150
# nodetap monitor over the life of a node process it did not know at start:
# a process started later appears in /metrics without a restart (found by its
# exec; uprobes on its binary if that binary is new), with exactly the
# lookups and connects it made and event-loop lag samples from a 1 s
# busy wait; once it exits, its series stay for --grace seconds and then
# leave. SIGTERM makes the monitor exit 0 and leaves none of its BPF
# programs and links loaded (its own ids, from its fdinfo).
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/monitor.sh"

K=7          # lookups, then connects, of the late process
GRACE=6

nt_monitor_start --grace $GRACE
ids_of() { cat /proc/$NT_MON_PID/fdinfo/* 2>/dev/null | sed -n "s/^$1_id:[[:space:]]*//p" | sort -un; }

# The late process.
"$NODE" "$TESTS_LIB/monitor-app.js" "$TEST_TMP/ready" "$TEST_TMP/go" "$TEST_TMP/done" $K 1000 &
app=$!
on_exit kill_wait $app
wait_for 20 "the app ready" test -s "$TEST_TMP/ready"
read -r apid port <"$TEST_TMP/ready"
assert_eq "$app" "$apid" "app pid"
series() { echo "$1\\{pid=\"$app\",comm=\"[^\"]*\"${2:-}\\}"; }
# Its main loop found (the lag histogram shows) before it starts working.
found() { test -n "$(nt_metric_re "$(series nodetap_event_loop_lag_seconds_count ',thread="main"')")"; }
wait_for 30 "pid $app in /metrics" found
touch "$TEST_TMP/go"
wait_for 30 "the app done" test -s "$TEST_TMP/done"

lookups() { nt_metric_re "$(series nodetap_dns_lookups_total ',host="localhost",result="ok"')"; }
connects() { nt_metric_re "$(series nodetap_tcp_connects_total ",daddr=\"127.0.0.1\",dport=\"$port\",result=\"established\"")"; }
# Counters only grow: waiting cannot turn a wrong count right.
all_in() { [ "$(lookups)" = $K ] && [ "$(connects)" = $K ]; }
for _ in $(seq 100); do all_in && break; sleep 0.1; done
assert_eq $K "$(lookups)" "lookups of the late process"
assert_eq $K "$(connects)" "connects of the late process"
assert_eq $K "$(nt_metric_re "$(series nodetap_dns_lookup_duration_seconds_count)")" "lookups timed"
assert_eq $K "$(nt_metric_re "$(series nodetap_tcp_connect_duration_seconds_count ",dport=\"$port\"")")" "connects timed"
# The busy wait (1 s of wall time, however little CPU a loaded machine
# gives it): the sampler saw the loop's iteration run past 32 ms.
total=$(nt_metric_re "$(series nodetap_event_loop_lag_seconds_bucket ',thread="main",le="\+Inf"')")
short=$(nt_metric_re "$(series nodetap_event_loop_lag_seconds_bucket ',thread="main",le="0\.032768"')")
log "lag samples: $total, of them over 32 ms: $((total - short))"
assert_ge $((total - short)) 1 "lag samples over 32 ms during a 1 s busy wait"

# Exit, then the grace period.
kill_wait $app
gone_at=$(now_ms)
present() { test -n "$(lookups)"; }
absent() { ! present; }
wait_for $((GRACE + 20)) "pid $app leaving /metrics after --grace $GRACE" absent
stayed=$(($(now_ms) - gone_at))
assert_ge $stayed $((GRACE * 1000 - 500)) "ms pid $app stayed in /metrics after it exited"
assert_eq "" "$(nt_metric_re "$(series nodetap_event_loop_lag_seconds_count ',thread="[a-z]*"')")" "lag series after the grace period"

# SIGTERM: exit 0, and this monitor's programs and links are gone.
progs=$(ids_of prog) links=$(ids_of link)
assert_ge "$(echo "$links" | wc -w)" 5 "links held by the monitor (uprobes, tracepoints, samplers)"
kill -TERM $NT_MON_PID
rc=0
wait $NT_MON_PID || rc=$?
assert_eq 0 "$rc" "monitor exit status after SIGTERM"
assert_contains "SIGTERM: detaching" "$(cat "$NT_MON_ERR")" "monitor's last words"
gone() {
	! bpftool -j prog show | jq -r '.[].id' | grep -qxF "$progs" &&
		! bpftool -j link show | jq -r '.[].id' | grep -qxF "$links"
}
wait_for 10 "the monitor's programs and links gone after SIGTERM" gone
