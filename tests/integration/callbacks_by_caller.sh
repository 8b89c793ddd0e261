#!/usr/bin/env bash
# per-node: yes
# Kinds by native caller, the fallback for a binary whose provider_type_
# offset cannot be proven (forced here with NODETAP_CB_BY_CALLER=1): the
# same workload as callbacks_counts gives the same callbacks in all, and the
# callers that belong to one kind name it: N FSREQCALLBACK from
# FSReqCallback::Resolve, K TCPSERVERWRAP from ConnectionWrap<TCPWrap>::
# OnConnection. Shared callers (socket reads, closes, shutdowns) show as kind
# "?" with the caller. nodetap says on stderr that it classifies by caller,
# and --kind then filters in user space.
. "$(dirname "$0")/../lib/common.sh"

N=5 M=3 I=2 K=2
run() { # run OUT ERR [nodetap options]: the workload under nodetap, K connections made
	local out=$1 err=$2 nt rc=0
	shift 2
	rm -f "$TEST_TMP/port"
	NODETAP_CB_BY_CALLER=1 "$REPO/nodetap" callbacks "$@" -- "$NODE" "$TESTS_LIB/callbacks-workload.js" \
		--stat $N --timers $M --immediates $I --accept $K --port-file "$TEST_TMP/port" \
		--out "$TEST_TMP/wl.json" >"$out" 2>"$err" &
	nt=$!
	on_exit kill_wait $nt
	port_or_exit() { test -s "$TEST_TMP/port" || ! kill -0 $nt 2>/dev/null; }
	wait_for 60 "the workload's listening port" port_or_exit
	test -s "$TEST_TMP/port" || fail "nodetap ended before the workload listened: $(cat "$err")"
	for ((i = 0; i < K; i++)); do
		exec 3<>"/dev/tcp/127.0.0.1/$(cat "$TEST_TMP/port")"
		exec 3<&-
	done
	wait $nt || rc=$?
	assert_eq 0 "$rc" "nodetap's exit status: $(cat "$err")"
}

out=$TEST_TMP/nodetap.jsonl
run "$out" "$TEST_TMP/stderr" --json
jq -c 'select(.type=="callbacks_binary")' "$out" >"$TEST_TMP/bins"
assert_eq caller "$(jq -rs --arg f "$(readlink -f "$NODE")" '[.[] | select(.file | endswith($f))][0].classified_by' "$TEST_TMP/bins")" \
	"classification of this binary"
count() { jq -s --arg k "$1" '[.[] | select(.type=="callbacks_summary" and .kind==$k) | .count] | add // 0' "$out"; }
assert_eq $N "$(count FSREQCALLBACK)" "FSREQCALLBACK callbacks (by caller)"
assert_eq $K "$(count TCPSERVERWRAP)" "TCPSERVERWRAP callbacks (by caller)"
assert_eq $M "$(count TIMERWRAP)" "TIMERWRAP callbacks"
assert_eq $I "$(count IMMEDIATE)" "IMMEDIATE callbacks"
assert_eq $((3 * K)) "$(count "?")" "callbacks of shared callers (reads, shutdowns, closes)"
assert_contains "FSReqCallback::Resolve" \
	"$(jq -rs '[.[] | select(.type=="callbacks_summary" and .kind=="FSREQCALLBACK") | .caller] | join(" ")' "$out")" \
	"caller of the FSREQCALLBACK callbacks"
assert_contains "ConnectionWrap<node::TCPWrap, uv_tcp_s>::OnConnection" \
	"$(jq -rs '[.[] | select(.type=="callbacks_summary" and .kind=="TCPSERVERWRAP") | .caller] | join(" ")' "$out")" \
	"caller of the TCPSERVERWRAP callbacks"
assert_contains "HandleWrap::OnClose" \
	"$(jq -rs '[.[] | select(.type=="callbacks_summary" and .kind=="?") | .caller] | join(" ")' "$out")" \
	"a shared caller"
assert_eq caller "$(jq -rs '[.[] | select(.type=="callbacks_summary" and .kind=="FSREQCALLBACK") | .classified_by] | unique | join(",")' "$out")" \
	"classified_by of the FSREQCALLBACK rows"
assert_eq $((N + M + I + 4 * K + 2)) "$(jq -s '[.[] | select(.type=="report")] | last | .callbacks' "$out")" "callbacks in all"
assert_jq "$out" 'select(.type=="losses") | [.[] | numbers] | add' 0 "losses"

# Text, with --kind: filtered in user space, and said so.
run "$TEST_TMP/text" "$TEST_TMP/stderr2" --kind FSREQCALLBACK
assert_match "kinds by native caller, not by provider type: NODETAP_CB_BY_CALLER=1 \(--kind is applied in user space for it\)" \
	"$(cat "$TEST_TMP/stderr2")" "stderr note"
text=$(cat "$TEST_TMP/text")
assert_match "Callbacks into JavaScript over [0-9.]+ s: $N callbacks in 1 process" "$text" "text summary line"
assert_match $'\n[0-9]+ +(node|MainThread) +FSREQCALLBACK +'"$N " "$text" "text row"
assert_match "called from node::fs::FSReqCallback::Resolve" "$text" "text caller"
