#!/usr/bin/env bash
# timeout: 90
# --binary: a copy of node under another name ("myapp", a file of its own)
# is node for the monitor that names it, and nothing for one that does not:
# its lookups and connects show in the first monitor's /metrics only. (A
# hard link would be the very file the second monitor has probed: node.)
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/monitor.sh"

K=4
APP=$TEST_TMP/myapp
cp "$(readlink -f "$NODE")" "$APP"

nt_monitor_start --binary "$APP"
WITH=$NT_MON_PORT
nt_monitor_start
WITHOUT=$NT_MON_PORT

"$APP" "$TESTS_LIB/monitor-app.js" "$TEST_TMP/ready" "$TEST_TMP/go" "$TEST_TMP/done" $K 0 &
app=$!
on_exit kill_wait $app
wait_for 20 "the app ready" test -s "$TEST_TMP/ready"
read -r _ port <"$TEST_TMP/ready"
lookups() { NT_MON_PORT=$1 nt_metric_re "nodetap_dns_lookups_total\\{pid=\"$app\",comm=\"[^\"]*\",host=\"localhost\",result=\"ok\"\\}"; }
found() { NT_MON_PORT=$WITH nt_metric_re "nodetap_event_loop_lag_seconds_count\\{pid=\"$app\",.*\\}" | grep -q .; }
wait_for 30 "pid $app in the --binary monitor's /metrics" found
touch "$TEST_TMP/go"
wait_for 30 "the app done" test -s "$TEST_TMP/done"
for _ in $(seq 100); do [ "$(lookups $WITH)" = $K ] && break; sleep 0.1; done
assert_eq $K "$(lookups $WITH)" "lookups of myapp, monitor with --binary"
assert_eq $K "$(NT_MON_PORT=$WITH nt_metric_re "nodetap_tcp_connects_total\\{pid=\"$app\",.*,dport=\"$port\",result=\"established\"\\}")" \
	"connects of myapp, monitor with --binary"
assert_eq "" "$(NT_MON_PORT=$WITHOUT nt_metric_re "[a-z_]+\\{pid=\"$app\",.*\\}")" "series of myapp, monitor without --binary"
