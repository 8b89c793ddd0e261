#!/usr/bin/env bash
# timeout: 90
# The configurations shipped in deploy/ are ones the monitor accepts: it
# starts with deploy/monitor.conf (the systemd unit's /etc/nodetap/monitor.conf)
# with every feature on, then takes the DaemonSet's ConfigMap (monitor.conf of
# deploy/nodetap-monitor-daemonset.yaml) on SIGHUP as applied. The test's own
# --listen and --log win over the files' (said once per key on stderr).
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/monitor.sh"

CONF=$TEST_TMP/monitor.conf
cp "$REPO/deploy/monitor.conf" "$CONF"
nt_monitor_start --config "$CONF"
for f in dns connect tcp loop; do
	assert_eq 1 "$(nt_metric "nodetap_feature_enabled{feature=\"$f\"}")" "feature $f with deploy/monitor.conf"
done
err=$(cat "$NT_MON_ERR")
assert_match "monitor.conf:[0-9]+: listen is also given on the command line, which wins" "$err" "the listen override named"
assert_match "monitor.conf:[0-9]+: log is also given on the command line, which wins" "$err" "the log override named"

# The ConfigMap's file: the block under "monitor.conf: |", its indentation off.
awk '/^  monitor.conf: \|$/ { on = 1; next } on && /^    / { print substr($0, 5); next }
	on && /^---/ { exit } on && /^$/ { print; next } on { exit }' \
	"$REPO/deploy/nodetap-monitor-daemonset.yaml" >"$TEST_TMP/configmap.conf"
assert_ge "$(grep -c '=' "$TEST_TMP/configmap.conf")" 5 "key = value lines in the ConfigMap"
cp "$TEST_TMP/configmap.conf" "$CONF"
kill -HUP "$NT_MON_PID"
applied() { [ "$(nt_metric 'nodetap_config_reloads_total{result="applied"}')" = 1 ]; }
wait_for 20 "the ConfigMap's file applied" applied
assert_eq 0 "$(nt_metric 'nodetap_config_reloads_total{result="rejected"}')" "rejected reloads"
assert_eq 1 "$(nt_metric nodetap_config_last_reload_successful)" "last reload successful"
