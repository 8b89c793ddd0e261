# monitor.sh: helpers for the `nodetap monitor` tests. Source after common.sh.
# Everything started here is stopped at exit (on_exit); call these functions
# directly, not inside $(...), except the ones that only print.
#
#   nt_free_port               prints a TCP port free on 127.0.0.1 now
#   nt_monitor_start ARGS...   nodetap monitor on a free port with ARGS; waits
#                              for /healthz; sets NT_MON_PID, NT_MON_PORT,
#                              NT_MON_ERR (its stderr)
#   nt_metrics                 prints /metrics (curl)
#   nt_metric SERIES           prints the value of one exact series line of
#                              /metrics (name{labels} as rendered), or nothing
#   nt_prometheus_start        a real Prometheus on a free loopback port with a
#                              temp storage dir, scraping the monitor every 1 s;
#                              waits until it is ready; sets NT_PROM_URL
#   nt_promql EXPR             prints the value of an instant query's first
#                              result (or nothing when it has none)
#   nt_promql_count EXPR       prints how many series an instant query returns

nt_free_port() {
	"$NODE" -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => {
		console.log(s.address().port); s.close(); });'
}

nt_monitor_start() {
	[ "$BASHPID" = "$$" ] || fail "nt_monitor_start must not run in a subshell"
	NT_MON_PORT=$(nt_free_port)
	NT_MON_ERR=$TEST_TMP/monitor.err
	# Its event log and -v lines, for a post-mortem (NODETAP_KEEP_TMP=1);
	# a test's own --log comes later and wins.
	"$REPO/nodetap" monitor --listen "127.0.0.1:$NT_MON_PORT" -v \
		--log "$TEST_TMP/monitor-events.jsonl" "$@" 2>"$NT_MON_ERR" &
	NT_MON_PID=$!
	on_exit kill_wait "$NT_MON_PID" TERM 10
	_nt_mon_up() {
		kill -0 "$NT_MON_PID" 2>/dev/null || fail "nodetap monitor exited at start: $(cat "$NT_MON_ERR")"
		curl -sf "http://127.0.0.1:$NT_MON_PORT/healthz" | grep -qx ok
	}
	wait_for 30 "nodetap monitor answering /healthz" _nt_mon_up
	log "nodetap monitor pid $NT_MON_PID on 127.0.0.1:$NT_MON_PORT"
}

nt_metrics() {
	curl -sf --max-time 10 "http://127.0.0.1:$NT_MON_PORT/metrics"
}

nt_metric() {
	nt_metrics | awk -v s="$1" 'index($0, s " ") == 1 { print substr($0, length(s) + 2) }'
}

nt_prometheus_start() {
	[ "$BASHPID" = "$$" ] || fail "nt_prometheus_start must not run in a subshell"
	local port dir
	port=$(nt_free_port)
	dir=$TEST_TMP/prometheus
	mkdir -p "$dir/data"
	cat >"$dir/prometheus.yml" <<-YML
	global:
	  scrape_interval: 1s
	  scrape_timeout: 1s
	scrape_configs:
	  - job_name: nodetap
	    static_configs:
	      - targets: ['127.0.0.1:$NT_MON_PORT']
	YML
	prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
		--web.listen-address="127.0.0.1:$port" --log.level=warn \
		>"$dir/out.log" 2>&1 &
	NT_PROM_PID=$!
	# Registered after the TEST_TMP removal would be too late: rm -rf of its
	# directory happens after every cleanup, once it is stopped.
	on_exit kill_wait "$NT_PROM_PID" TERM 10
	NT_PROM_URL=http://127.0.0.1:$port
	_nt_prom_ready() {
		kill -0 "$NT_PROM_PID" 2>/dev/null || fail "prometheus exited at start: $(tail -n 20 "$dir/out.log")"
		curl -sf "$NT_PROM_URL/-/ready" >/dev/null
	}
	wait_for 60 "prometheus ready on $NT_PROM_URL" _nt_prom_ready
	log "prometheus pid $NT_PROM_PID on $NT_PROM_URL scraping 127.0.0.1:$NT_MON_PORT"
}

nt_promql() {
	curl -sf --max-time 10 "$NT_PROM_URL/api/v1/query" --data-urlencode "query=$1" |
		jq -r '.data.result[0].value[1] // empty'
}

nt_promql_count() {
	curl -sf --max-time 10 "$NT_PROM_URL/api/v1/query" --data-urlencode "query=$1" |
		jq -r '.data.result | length'
}

# expect_promql TIMEOUT_S EXPR VALUE WHAT: waits until Prometheus answers
# EXPR with VALUE (counters only grow: a wrong count never turns right by
# waiting); fails naming the last answer otherwise.
expect_promql() {
	local timeout=$1 expr=$2 want=$3 what=$4 got=
	local deadline=$(($(date +%s) + timeout))
	while :; do
		got=$(nt_promql "$expr" || true)
		[ "$got" = "$want" ] && { log "ok: $what = $want"; return 0; }
		[ "$(date +%s)" -lt $deadline ] || fail "$what: expected $want, Prometheus says '${got:-no such series}' for $expr (waited ${timeout}s)"
		sleep 0.5
	done
}

# nt_metric_re REGEX: the sum of the values of the /metrics lines whose
# series (name{labels}) matches the extended regular expression REGEX
# (anchored at both ends); nothing when no line matches.
nt_metric_re() {
	# Through the environment: awk -v would interpret the backslashes.
	nt_metrics | NT_RE="^$1\$" awk '{ s = $0; sub(/ [^ ]*$/, "", s) }
		s ~ ENVIRON["NT_RE"] { sum += $NF; n++ } END { if (n) printf "%d\n", sum }'
}

# nt_wait_in_metrics PID WHAT: wait (at most 30 s) until the monitor has
# found PID's event loop, i.e. until PID has a lag series in /metrics: from
# then on its probes are in place.
nt_wait_in_metrics() {
	_nt_has_lag() { nt_metric_re "nodetap_event_loop_lag_seconds_count\\{pid=\"$1\",.*\\}" | grep -q .; }
	wait_for 30 "$2 in /metrics" _nt_has_lag "$1"
}
