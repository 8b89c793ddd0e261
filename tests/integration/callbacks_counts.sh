#!/usr/bin/env bash
# per-node: yes
# nodetap callbacks against ground truth: a node process makes N fs.stat
# callbacks, M timers, I immediates and accepts K TCP connections (opened and
# closed by this script, which sends nothing), one phase after the other.
#
# What node really does for that, established once with gdb (breakpoints
# counting AsyncWrap::MakeCallback per provider_type_, RunTimers,
# node::MakeCallback and InternalMakeCallback, on v18, v20, v22 and v24; see
# docs/callbacks.md) and the same on every major:
#   FSREQCALLBACK  N    one completion per fs.stat
#   TIMERWRAP      M    one run of the timers list per timer (they are
#                       sequential: each is due alone)
#   IMMEDIATE      I    one run of the immediate queue per setImmediate
#   TCPSERVERWRAP  K    onconnection, once per accepted connection
#   TCPWRAP        2K   per connection: the read that sees EOF, the close
#   SHUTDOWNWRAP   K    per connection: the shutdown node does after EOF
#   OTHER          2    process 'beforeExit' and 'exit', emitted from C++
# and nothing else. The workload also counts, with async_hooks, the callbacks
# node itself announces per resource type in the same run: the provider
# kinds must match those too (Timeout and Immediate for the timers and
# immediates).
. "$(dirname "$0")/../lib/common.sh"

N=7 M=5 I=4 K=3
out=$TEST_TMP/nodetap.jsonl
wl=$TEST_TMP/workload.json
"$REPO/nodetap" callbacks --json -- "$NODE" "$TESTS_LIB/callbacks-workload.js" --hooks \
	--stat $N --timers $M --immediates $I --accept $K --port-file "$TEST_TMP/port" --out "$wl" \
	>"$out" 2>"$TEST_TMP/stderr" &
nt=$!
on_exit kill_wait $nt
port_or_exit() { test -s "$TEST_TMP/port" || ! kill -0 $nt 2>/dev/null; }
wait_for 60 "the workload's listening port" port_or_exit
test -s "$TEST_TMP/port" || fail "nodetap ended before the workload listened: $(cat "$TEST_TMP/stderr")"
port=$(cat "$TEST_TMP/port")
for ((i = 0; i < K; i++)); do
	exec 3<>"/dev/tcp/127.0.0.1/$port"
	exec 3<&-
done
rc=0
wait $nt || rc=$?
assert_eq 0 "$rc" "nodetap's exit status (the workload's): $(cat "$TEST_TMP/stderr")"

# The workload did what it was asked.
assert_jq "$wl" '[.stat, .timers, .immediates, .accepted] | map(tostring) | join(" ")' "$N $M $I $K" "workload phases"

count() { jq -s --arg k "$1" '[.[] | select(.type=="callbacks_summary" and .kind==$k) | .count] | add // 0' "$out"; }
assert_eq $N "$(count FSREQCALLBACK)" "FSREQCALLBACK callbacks"
assert_eq $M "$(count TIMERWRAP)" "TIMERWRAP callbacks"
assert_eq $I "$(count IMMEDIATE)" "IMMEDIATE callbacks"
assert_eq $K "$(count TCPSERVERWRAP)" "TCPSERVERWRAP callbacks"
assert_eq $((2 * K)) "$(count TCPWRAP)" "TCPWRAP callbacks"
assert_eq $K "$(count SHUTDOWNWRAP)" "SHUTDOWNWRAP callbacks"
assert_eq 2 "$(count OTHER)" "OTHER callbacks (process beforeExit, exit)"
assert_eq "FSREQCALLBACK IMMEDIATE OTHER SHUTDOWNWRAP TCPSERVERWRAP TCPWRAP TIMERWRAP" \
	"$(jq -rs '[.[] | select(.type=="callbacks_summary") | .kind] | unique | join(" ")' "$out")" "kinds seen"

# node's own account of the same run.
for k in FSREQCALLBACK TCPSERVERWRAP TCPWRAP SHUTDOWNWRAP; do
	assert_eq "$(jq -r --arg k $k '.hooks[$k] // 0' "$wl")" "$(count $k)" "$k: nodetap vs node's async_hooks"
done
assert_eq "$(jq -r '.hooks.Timeout' "$wl")" "$(count TIMERWRAP)" "TIMERWRAP vs async_hooks Timeout"
assert_eq "$(jq -r '.hooks.Immediate' "$wl")" "$(count IMMEDIATE)" "IMMEDIATE vs async_hooks Immediate"

# All in the one process, provider types read (not guessed by caller).
pid=$(jq -r .pid "$wl")
assert_eq "$pid" "$(jq -rs '[.[] | select(.type=="callbacks_summary") | .pid] | unique | join(",")' "$out")" "pids"
assert_eq provider "$(jq -rs '[.[] | select(.type=="callbacks_summary") | .classified_by] | unique | join(",")' "$out")" "classified by"

# Each row's histogram holds its count; averages are below the maximum.
assert_eq 0 "$(jq -s '[.[] | select(.type=="callbacks_summary") | select(([.latency_hist.buckets[].count] | add) != .count or .avg_ns > .max_ns)] | length' "$out")" "rows whose histogram or average disagree"

# The provider names nodetap read from this binary are node's own, by number.
node_providers=$("$NODE" --expose-internals -e '
	const { internalBinding } = require("internal/test/binding");
	const p = internalBinding("async_wrap").Providers;
	console.log(Object.keys(p).sort((a, b) => p[a] - p[b]).join(" "));' 2>/dev/null)
assert_ne "" "$node_providers" "node's Providers"
# (nodetap also looked at `node` on PATH: pick this binary's record.)
assert_eq "$node_providers" "$(jq -rs --arg f "$(readlink -f "$NODE")" \
	'[.[] | select(.type=="callbacks_binary" and (.file | endswith($f)))][0].providers | join(" ")' "$out")" \
	"provider names by number"

# Every callback is two probe hits (entry and return), no more.
total=$(jq -s '[.[] | select(.type=="report")] | last | .callbacks' "$out")
assert_eq $((N + M + I + 4 * K + 2)) "$total" "callbacks in the report"
assert_eq $((2 * total)) "$(jq -s '[.[] | select(.type=="callbacks_cost" and .when=="report")] | last | .hits' "$out")" "probe hits"
assert_jq "$out" 'select(.type=="losses") | [.[] | numbers] | add' 0 "losses"
assert_jq "$out" 'select(.type=="report") | .final' true "final report record"

# The text report: one line per kind with its count, and a histogram.
"$REPO/nodetap" callbacks -- "$NODE" "$TESTS_LIB/callbacks-workload.js" --stat 3 --timers 2 \
	>"$TEST_TMP/text" 2>"$TEST_TMP/stderr2" || fail "nodetap (text) failed: $(cat "$TEST_TMP/stderr2")"
text=$(cat "$TEST_TMP/text")
assert_match "Callbacks into JavaScript over [0-9.]+ s: 7 callbacks in 1 process" "$text" "text summary line"
assert_match $'\n[0-9]+ +(node|MainThread) +FSREQCALLBACK +3 ' "$text" "text row of FSREQCALLBACK"
assert_match $'\n[0-9]+ +(node|MainThread) +TIMERWRAP +2 ' "$text" "text row of TIMERWRAP"
assert_contains "usecs         : count" "$text" "text histogram"
assert_contains "probe hits since start: 14 " "$text" "text probe hits"
assert_contains "lost since start: nothing" "$text" "text losses"
