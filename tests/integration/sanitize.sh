#!/usr/bin/env bash
# timeout: 600
# sanitize: nodetap and the unit tests built with ASan+UBSan
# (make SANITIZE=1: gcc, -fsanitize=address,undefined
# -fno-sanitize-recover=all, into build-san/; ./nodetap is not touched), then
# run: the whole unit-test suite, and real nodetap runs that go through the
# loader, the BPF ring buffer and map reading, the symbolizer (perf map,
# /proc maps, ELF symbols, demangler), the escapers and both output formats:
#   dns --json                  lookups that succeed and fail, hostile names
#   dns --events (text)         the same, one line per lookup
#   dns --stacks --json         with a perf map: JS and native frames named
#   dns --stacks (text)         the same, as text
#   dns -p PID --json 1 2       interval reports (snapshot deltas), -p
#   SUB --json                  every other subcommand `nodetap --help` lists
#                               (trace: -o -), then --heatmap/--html outputs
#                               (callbacks --html with its stacks and flame graph),
#                               on a workload of connections, a lookup, timers
#   monitor                     a node process started later, /metrics with
#                               hostile hostnames and --top, --log rotation,
#                               SIGHUP, SIGTERM
#   usage errors, a missing pid error paths and their cleanup
# Any sanitizer report (ASan, LeakSanitizer, UBSan) fails the test, as does
# a run that did not do its work. Prints the time of each step.
. "$(dirname "$0")/../lib/common.sh"

cd "$REPO"
NT=$REPO/build-san/nodetap
UT=$REPO/build-san/unit-tests
# exitcode: tell a sanitizer's exit from the program's own. LeakSanitizer
# runs inside ASan and uses ASan's exit code. (Not strict_string_checks: it
# makes every strchr scan the whole string, and kallsyms' line loop took
# minutes.)
export ASAN_OPTIONS=detect_leaks=1:exitcode=86:abort_on_error=0:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=87
REPORT_RE='ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer|LeakSanitizer)'

step_start=0
step() { step_start=$(now_ms); log "$*"; }
took() { awk -v ms=$(($(now_ms) - step_start)) 'BEGIN { printf "%.1f", ms / 1000 }'; }

# check_log WHAT LOG RC [EXPECTED_RC]: no sanitizer report in LOG, and the
# exit status is EXPECTED_RC (default 0).
check_log() {
	local what=$1 logf=$2 rc=$3 want=${4:-0}
	if grep -qE "$REPORT_RE" "$logf"; then
		grep -E -A 30 "$REPORT_RE" "$logf" | head -n 60 >&2
		fail "$what: sanitizer report (exit $rc)"
	fi
	[ "$rc" = 86 ] && fail "$what: exit 86, an ASan/LSan exit without a report in $logf"
	[ "$rc" = 87 ] && fail "$what: exit 87, a UBSan exit without a report in $logf"
	[ "$rc" = "$want" ] || { tail -n 20 "$logf" >&2; fail "$what: exit $rc, expected $want"; }
}

step "build: make SANITIZE=1 (build-san/)"
if ! make -s SANITIZE=1 -j"$(nproc)" all unit >"$TEST_TMP/make.log" 2>&1; then
	tail -n 30 "$TEST_TMP/make.log" >&2
	fail "make SANITIZE=1 failed"
fi
echo "sanitize: build $(took) s"

step "unit tests under the sanitizers"
rc=0
"$UT" >"$TEST_TMP/unit.log" 2>&1 || rc=$?
check_log "build-san/unit-tests" "$TEST_TMP/unit.log" "$rc"
summary=$(grep -E '^unit: [0-9]+ passed, 0 failed$' "$TEST_TMP/unit.log") ||
	fail "unit tests: no clean summary line: $(tail -n 3 "$TEST_TMP/unit.log")"
san_s=$(took)
plain=
if [ -x build/unit-tests ]; then
	step "unit tests unsanitized, for the ratio"
	build/unit-tests >/dev/null 2>&1 || true
	plain=", unsanitized $(took) s"
fi
echo "sanitize: $summary in $san_s s$plain"

cat >"$TEST_TMP/lookups.js" <<'JS'
// A few lookups: ones that succeed, ones that fail, hostile names.
const dns = require('dns');
const names = ['localhost', 'localhost', 'nodetap-sanitize.invalid',
	'evil\x1b[2J\x1b[31mred.invalid', 'new\nline.invalid', 'bad\xff\u202eutf.invalid',
	'a'.repeat(300) + '.invalid'];
function lookupAll(done) {
	let left = names.length;
	for (const n of names) dns.lookup(n, { family: 4 }, () => { if (--left === 0) done(); });
}
lookupAll(() => lookupAll(() => {}));
JS

# run_nt WHAT EXPECTED_RC ARGS...: nodetap ARGS under the sanitizers; stdout
# in $TEST_TMP/out, stderr in $TEST_TMP/err.
run_nt() {
	local what=$1 want=$2 rc=0
	shift 2
	step "$what"
	"$NT" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
	check_log "nodetap $what" "$TEST_TMP/err" "$rc" "$want"
	echo "sanitize: nodetap $what: $(took) s, $(wc -l <"$TEST_TMP/out") lines of output"
}

run_nt "dns --json" 0 dns --json -- "$NODE" "$TEST_TMP/lookups.js"
assert_eq 14 "$(jq -s '[.[] | select(.type=="dns_summary") | .count] | add' "$TEST_TMP/out")" "lookups counted (dns --json)"

run_nt "dns --events" 0 dns --events -- "$NODE" "$TEST_TMP/lookups.js"
assert_eq 0 "$(tr -cd '\033' <"$TEST_TMP/out" | wc -c)" "ESC bytes in the text output"
assert_contains 'nodetap-sanitize.invalid' "$(cat "$TEST_TMP/out")" "a failed lookup in the events"

perf_opts=(--perf-basic-prof --interpreted-frames-native-stack)
# --perf-basic-prof makes V8 write isolate-*-v8.log into the working
# directory: run those in $TEST_TMP, not in the repository (the demo test
# checks that none is left there).
cd "$TEST_TMP"
run_nt "dns --stacks --json" 0 dns --stacks --json -- "$NODE" "${perf_opts[@]}" "$TEST_TMP/lookups.js"
frames=$(jq -s '[.[] | select(.type=="dns_summary") | .stacks[]?.frames[]?] | length' "$TEST_TMP/out")
assert_gt "$frames" 0 "frames in the stacks (dns --stacks --json)"
assert_gt "$(jq -s '[.[] | select(.type=="dns_summary") | .stacks[]?.frames[]? | tostring | select(test("lookups.js"))] | length' "$TEST_TMP/out")" 0 \
	"JS frames named from the perf map"

run_nt "dns --stacks" 0 dns --stacks -- "$NODE" "${perf_opts[@]}" "$TEST_TMP/lookups.js"
assert_contains 'lookups.js' "$(cat "$TEST_TMP/out")" "a JS frame in the text stacks"
cd "$REPO"

# Interval reports of a process given by -p.
"$NODE" -e 'setInterval(() => require("dns").lookup("localhost", () => {}), 50)' &
target=$!
on_exit kill_wait $target
run_nt "dns -p PID --json 1 2" 0 dns -p "$target" --json 1 2
assert_eq 2 "$(jq -s '[.[] | select(.type=="report")] | length' "$TEST_TMP/out")" "interval reports"
assert_gt "$(jq -s '[.[] | select(.type=="dns_summary") | .count] | add // 0' "$TEST_TMP/out")" 5 "lookups over 2 s at 20/s"
kill_wait $target

# Every other subcommand nodetap lists, once each with --json on a small
# workload: a local TCP server and connections to it, a refused connect, a
# lookup, timers, a file read. Not their numbers (their own tests check
# those): that each runs clean under the sanitizers and reports something.
cat >"$TEST_TMP/workload.js" <<'JS'
const net = require('net'), dns = require('dns'), fs = require('fs');
const srv = net.createServer((s) => { s.end('hello'); }).listen(0, '127.0.0.1', () => {
	const port = srv.address().port;
	let left = 5;
	const done = () => { if (--left === 0) srv.close(); };
	for (let i = 0; i < 4; i++)
		net.connect(port, '127.0.0.1', function () { this.on('data', () => {}); this.on('close', done); });
	net.connect(1, '127.0.0.1').on('error', done);
	dns.lookup('localhost', () => {});
	fs.readFile(__filename, () => {});
	setTimeout(() => {}, 20);
});
JS
# (monitor is a service without --json: run on its own below.)
subs=$("$NT" --help 2>&1 | sed -n 's/^  \([a-z][a-z]*\)  .*/\1/p' | grep -vx -e dns -e monitor || true)
for sub in $subs; do
	# trace writes one JSON document (Chrome trace events) with -o.
	out_args=(--json)
	[ "$sub" = trace ] && out_args=(-o -)
	run_nt "$sub ${out_args[*]}" 0 "$sub" "${out_args[@]}" -- "$NODE" "$TEST_TMP/workload.js"
	assert_gt "$(wc -l <"$TEST_TMP/out")" 0 "lines of output from nodetap $sub ${out_args[*]}"
	jq -e . "$TEST_TMP/out" >/dev/null || fail "nodetap $sub ${out_args[*]}: output is not JSON"
done

# The heat map's outputs: SVG and HTML files, and the terminal form.
run_nt "connect --heatmap FILE --html FILE" 0 connect --heatmap "$TEST_TMP/c.svg" --html "$TEST_TMP/c.html" \
	-- "$NODE" "$TEST_TMP/workload.js"
assert_contains '"events":' "$(cat "$TEST_TMP/c.svg")" "connect heat map data"
assert_contains 'id="nodetap-events"' "$(cat "$TEST_TMP/c.html")" "connect HTML report"
# callbacks --html: the sampler's stacks named, kept per event, the top
# tables and the flame graph written.
run_nt "callbacks --html FILE" 0 callbacks --html "$TEST_TMP/cb.html" -- "$NODE" --perf-basic-prof \
	--always-sparkplug "$TESTS_LIB/callbacks-shift.js" --count 3 --out "$TEST_TMP/shift.json"
rm -f "/tmp/perf-$(jqv "$TEST_TMP/shift.json" .pid).map"
assert_contains '<svg version="1.1" class="flamegraph"' "$(cat "$TEST_TMP/cb.html")" "callbacks HTML report's flame graph"
assert_contains 'spinInTimer' "$(cat "$TEST_TMP/cb.html")" "callbacks HTML report's stacks"
run_nt "dns --heatmap -" 0 dns --heatmap - --heatmap-column 0.1 -- "$NODE" "$TEST_TMP/workload.js"
assert_contains "heat map: a line per 0.1 s column" "$(cat "$TEST_TMP/out")" "dns --heatmap - output"

# monitor: discovery of a node process started later, rendering /metrics
# (hostile hostnames in labels), folding past --top, the --log file and its
# rotation, SIGHUP, then SIGTERM's cleanup.
step "monitor"
mport=$("$NODE" -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')
rc=0
"$NT" monitor --listen "127.0.0.1:$mport" --top 2 --grace 1 --log "$TEST_TMP/mon.jsonl" \
	--log-max-bytes 4096 2>"$TEST_TMP/err" &
mon=$!
on_exit kill_wait $mon TERM 10
mon_up() { curl -sf "http://127.0.0.1:$mport/healthz" | grep -qx ok; }
wait_for 60 "sanitized nodetap monitor answering /healthz" mon_up
"$NODE" -e 'const dns = require("dns"); let n = 0;
	for (const h of ["localhost", "a\"b\\c\nd.invalid", "x.invalid", "y.invalid"])
		dns.lookup(h, () => {});
	setTimeout(() => {}, 300);'
"$NODE" "$TEST_TMP/workload.js"
for _ in 1 2 3; do curl -sf "http://127.0.0.1:$mport/metrics" >"$TEST_TMP/metrics" || true; sleep 1; done
kill -HUP $mon
sleep 1
curl -sf "http://127.0.0.1:$mport/metrics" >"$TEST_TMP/metrics" || fail "sanitized monitor: /metrics failed"
kill -TERM $mon
wait $mon || rc=$?
check_log "nodetap monitor" "$TEST_TMP/err" "$rc"
assert_contains "# TYPE nodetap_dns_lookups_total counter" "$(cat "$TEST_TMP/metrics")" "sanitized monitor's /metrics"
echo "sanitize: nodetap monitor: $(took) s, $(grep -vc '^#' "$TEST_TMP/metrics") series lines"

# Error paths: their cleanup runs too (LeakSanitizer looks at exit).
run_nt "dns --bogus (usage error)" 2 dns --bogus
sleep 1000 &
sleeper=$!
on_exit kill_wait $sleeper
run_nt "dns -p <not node> (runtime error)" 1 dns -p "$sleeper" -d 1
kill_wait $sleeper
