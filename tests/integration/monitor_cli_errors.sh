#!/usr/bin/env bash
# Bad input to `nodetap monitor` gets one clear line naming what is wrong and
# the right exit status (2 usage, 1 runtime); a port in use fails before
# anything is loaded; --help teaches; /healthz and unknown paths answer as
# documented.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/monitor.sh"

NT=$REPO/nodetap
expect() { # STATUS PATTERN ARGS...: exit STATUS, stderr one line matching PATTERN
	local want=$1 pattern=$2 rc=0
	shift 2
	"$NT" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || rc=$?
	assert_eq "$want" "$rc" "exit status of nodetap $*"
	assert_match "$pattern" "$(cat "$TEST_TMP/err")" "message of nodetap $*"
	assert_eq 1 "$(wc -l <"$TEST_TMP/err")" "lines on stderr from nodetap $*"
}

expect 2 "--listen '127.0.0.1': give ADDR:PORT" monitor --listen 127.0.0.1
expect 2 "--listen 'localhost:9464': 'localhost' is not an IPv4 address" monitor --listen localhost:9464
expect 2 "--listen '127.0.0.1:0': the port must be a number from 1 to 65535" monitor --listen 127.0.0.1:0
expect 2 "--listen '::1:9464': '::1' is not an IPv4 address \(IPv6 goes in brackets\)" monitor --listen ::1:9464
expect 2 "--top '0': a whole number from 1 to 1000" monitor --top 0
expect 2 "--top 'x': a whole number" monitor --top x
expect 2 "--grace '-1': seconds" monitor --grace -1
expect 2 "--freq '0': Hz, from 1 to 1000" monitor --freq 0
expect 2 "--log-max-bytes '10': bytes, at least 4096" monitor --log-max-bytes 10
expect 2 "--log needs a value" monitor --log
expect 2 "unknown option '-p'" monitor -p 1
expect 2 "unexpected argument '5' \(monitor watches every node process" monitor 5
expect 2 "unknown option '--frobnicate'" monitor --frobnicate
expect 1 "--binary /nonexistent/node: No such file or directory" monitor --binary /nonexistent/node
expect 2 "--dns 'maybe': on or off" monitor --dns maybe
# --config: the file's errors name FILE:LINE, before anything is loaded.
printf '# ok so far\ntop = 5\n\ntopp = 3\n' >"$TEST_TMP/unknown.conf"
expect 2 "--config $TEST_TMP/unknown.conf:4: unknown key 'topp' \(keys: listen, top," monitor --config "$TEST_TMP/unknown.conf"
printf 'grace = soon\n' >"$TEST_TMP/value.conf"
expect 2 "--config $TEST_TMP/value.conf:1: grace = 'soon': not seconds" monitor --config "$TEST_TMP/value.conf"
printf 'log = /x\nlog = /y\n' >"$TEST_TMP/twice.conf"
expect 2 "twice.conf:2: log given again \(first on line 1\): keep one" monitor --config "$TEST_TMP/twice.conf"
head -c 5000 /dev/zero | tr '\0' x >"$TEST_TMP/long.conf"
expect 2 "long.conf:1: a line longer than 4096 bytes" monitor --config "$TEST_TMP/long.conf"
expect 2 "--config /nonexistent.conf: No such file or directory" monitor --config /nonexistent.conf
expect 2 "--config $TEST_TMP: not a regular file" monitor --config "$TEST_TMP"
printf 'binary = /nonexistent/node\n' >"$TEST_TMP/binary.conf"
expect 1 "--config $TEST_TMP/binary.conf: binary /nonexistent/node: No such file or directory" \
	monitor --config "$TEST_TMP/binary.conf"

# Not root: refused before anything is loaded.
rc=0
setpriv --reuid=65534 --regid=65534 --clear-groups "$NT" monitor -d 1 >/dev/null 2>"$TEST_TMP/err" || rc=$?
assert_eq 1 "$rc" "exit status when not root"
assert_match "must run as root" "$(cat "$TEST_TMP/err")" "message when not root"

# A port in use: one line, exit 1, before any probe is placed.
"$NODE" -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => {
	require("fs").writeFileSync(process.argv[1], String(s.address().port)); });
	setTimeout(() => {}, 60000);' "$TEST_TMP/port" &
holder=$!
on_exit kill_wait $holder
wait_for 10 "port holder" test -s "$TEST_TMP/port"
expect 1 "cannot serve on 127.0.0.1:$(cat "$TEST_TMP/port"): .*choose one with --listen" \
	monitor --listen "127.0.0.1:$(cat "$TEST_TMP/port")"

# --help: examples, the metrics, the options.
"$NT" monitor --help >"$TEST_TMP/help" || fail "nodetap monitor --help failed"
for s in "Examples:" "nodetap_dns_lookups_total{pid,comm,host,result}" "--listen ADDR:PORT" \
	"--grace SECONDS" "--top N" "SIGHUP" "--config FILE" "/etc/nodetap/monitor.conf"; do
	assert_contains "$s" "$(cat "$TEST_TMP/help")" "monitor --help"
done
assert_match "monitor +the always-on agent" "$("$NT" --help)" "nodetap --help lists monitor"

# The endpoints: /healthz, /metrics with its content type, 404, 405.
nt_monitor_start -d 60
assert_eq ok "$(curl -sf "http://127.0.0.1:$NT_MON_PORT/healthz")" "/healthz"
ctype=$(curl -sf -o /dev/null -w '%{content_type}' "http://127.0.0.1:$NT_MON_PORT/metrics")
assert_eq "text/plain; version=0.0.4; charset=utf-8" "$ctype" "content type of /metrics"
assert_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$NT_MON_PORT/nothing")" "status of /nothing"
assert_eq 405 "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$NT_MON_PORT/metrics")" "status of POST /metrics"
assert_contains "# TYPE nodetap_dns_lookups_total counter" "$(nt_metrics)" "/metrics"
assert_contains "# TYPE nodetap_event_loop_lag_seconds histogram" "$(nt_metrics)" "/metrics"
