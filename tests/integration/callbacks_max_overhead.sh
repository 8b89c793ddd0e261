#!/usr/bin/env bash
# per-node: yes
# --max-overhead: on a hot workload (TCP ping-pong inside one node process,
# tens of thousands of callbacks a second) nodetap says after the first
# second what the probes cost, finds it over the limit, detaches the probes
# on AsyncWrap::MakeCallback and says so; from then on no more hits land
# there while the workload goes on to its end. A limit the workload stays
# under detaches nothing.
. "$(dirname "$0")/../lib/common.sh"

out=$TEST_TMP/nodetap.jsonl
wl=$TEST_TMP/workload.json
"$REPO/nodetap" callbacks --json --max-overhead 1 -- "$NODE" "$TESTS_LIB/callbacks-workload.js" \
	--hot 4 --out "$wl" >"$out" 2>"$TEST_TMP/stderr" || fail "nodetap exited $?: $(cat "$TEST_TMP/stderr")"

# The workload ran to its end, untraced for most of it.
trips=$(jq -r .hot_round_trips "$wl")
assert_gt "$trips" 2000 "round trips of the workload"
assert_ge "$(jq -r .hot_ns "$wl")" 3900000000 "duration of the hot phase (ns)"

first=$(jq -c 'select(.type=="callbacks_cost" and .when=="first_interval")' "$out")
assert_ne "" "$first" "the cost said after the first interval"
assert_gt "$(jq -r .overhead_pct <<<"$first")" 1 "estimated overhead (%) in the first interval"
assert_eq 1 "$(jq -s '[.[] | select(.type=="callbacks_detached")] | length' "$out")" "detach records"
det=$(jq -c 'select(.type=="callbacks_detached")' "$out")
assert_contains "node::AsyncWrap::MakeCallback" "$(jq -r .detached <<<"$det")" "what was detached"
assert_gt "$(jq -r .overhead_pct <<<"$det")" 1 "overhead (%) that made it detach"
assert_le "$(jq -r .remaining_overhead_pct <<<"$det")" 1 "overhead (%) left after detaching"
# After the detach, AsyncWrap::MakeCallback saw at most the calls in flight.
at_detach=$(jq -r .hits <<<"$det")
final=$(jq -s '[.[] | select(.type=="callbacks_cost" and .when=="report")] | last' "$out")
assert_le "$(jq -r '.hits_by_function["node::AsyncWrap::MakeCallback"]' <<<"$final")" "$((at_detach + 4))" \
	"hits on AsyncWrap::MakeCallback by the end (detached at $at_detach hits)"
tcp=$(jq -s '[.[] | select(.type=="callbacks_summary" and .kind=="TCPWRAP") | .count] | add // 0' "$out")
assert_gt "$tcp" 0 "TCPWRAP callbacks counted before the detach"
assert_lt "$tcp" $((2 * trips)) "TCPWRAP callbacks counted (all round trips: $((2 * trips)))"
assert_jq "$out" 'select(.type=="losses") | .unmatched_completions' 0 "unmatched returns"

# The text form says it on stderr, and the report says what it lacks.
"$REPO/nodetap" callbacks --max-overhead 0.5 -- "$NODE" "$TESTS_LIB/callbacks-workload.js" \
	--hot 3 --out "$TEST_TMP/wl2.json" >"$TEST_TMP/text" 2>"$TEST_TMP/stderr" ||
	fail "nodetap (text) exited $?: $(cat "$TEST_TMP/stderr")"
assert_match "cost: [0-9]+ probe hits/s in the first [0-9.]+ s x [0-9.]+ us a hit \(.*\) = about [0-9.]+% of one CPU" \
	"$(cat "$TEST_TMP/stderr")" "cost line"
assert_match "--max-overhead 0.5%: [0-9]+ probe hits/s would cost about [0-9.]+% of a CPU: detached node::AsyncWrap::MakeCallback \([0-9]+ hits/s\)" \
	"$(cat "$TEST_TMP/stderr")" "detach line"
assert_contains "(--max-overhead detached node::AsyncWrap::MakeCallback" "$(cat "$TEST_TMP/text")" "report note"

# Under the limit nothing is detached.
"$REPO/nodetap" callbacks --json --max-overhead 50 -- "$NODE" "$TESTS_LIB/callbacks-workload.js" \
	--stat 3 --timers 300 --out "$TEST_TMP/wl3.json" >"$TEST_TMP/out3" 2>"$TEST_TMP/stderr" ||
	fail "nodetap (under the limit) exited $?: $(cat "$TEST_TMP/stderr")"
assert_eq 0 "$(jq -s '[.[] | select(.type=="callbacks_detached")] | length' "$TEST_TMP/out3")" "detach records under the limit"
assert_eq 300 "$(jq -s '[.[] | select(.type=="callbacks_summary" and .kind=="TIMERWRAP") | .count] | add' "$TEST_TMP/out3")" \
	"TIMERWRAP callbacks under the limit"
