#!/usr/bin/env bash
# One nodetap callbacks traces node v20 and v22 processes at once (-p both):
# their AsyncWrap layouts differ (provider_type_ at +0x20 and +0x30) and so
# does the numbering of kinds (TCPWRAP is 36 on v20, 40 on v22), so each
# probe must read its own binary's offset and names (the attach cookie says
# which). Each process makes N fs.stat callbacks and accepts K connections:
# both are counted exactly, under the right names.
. "$(dirname "$0")/../lib/common.sh"

N=4 K=2
v20=/usr/bin/node
v22=$(NODETAP_TEST_NODES=22 "$TESTS_LIB/node-versions.sh") || fail "no node v22: $v22"
assert_match '^v20\.' "$("$v20" --version)" "$v20's version"

start() { # start NODE NAME: the workload, waiting 2 s for nodetap; sets its pid in PID_NAME
	"$1" "$TESTS_LIB/callbacks-workload.js" --start-after-ms 2000 --stat $N --accept $K \
		--port-file "$TEST_TMP/port.$2" --out "$TEST_TMP/wl.$2.json" &
	on_exit kill_wait $!
	printf -v "PID_$2" %s $!
}
start "$v20" a
start "$v22" b
# Until they have exec'ed node, they are copies of this shell.
execd() { [ "$(readlink /proc/$PID_a/exe)" = "$(readlink -f "$v20")" ] &&
	  [ "$(readlink /proc/$PID_b/exe)" = "$(readlink -f "$v22")" ]; }
wait_for 10 "the workloads to start" execd

out=$TEST_TMP/nodetap.jsonl
"$REPO/nodetap" callbacks --json -p "$PID_a,$PID_b" -d 60 >"$out" 2>"$TEST_TMP/stderr" &
nt=$!
on_exit kill_wait $nt
both_ports() { test -s "$TEST_TMP/port.a" && test -s "$TEST_TMP/port.b"; }
wait_for 30 "both workloads to listen" both_ports
for w in a b; do
	for ((i = 0; i < K; i++)); do
		exec 3<>"/dev/tcp/127.0.0.1/$(cat "$TEST_TMP/port.$w")"
		exec 3<&-
	done
done
wait "$PID_a" || fail "workload on v20 failed"
wait "$PID_b" || fail "workload on v22 failed"
kill -INT $nt
rc=0
wait $nt || rc=$?
assert_eq 0 "$rc" "nodetap's exit status: $(cat "$TEST_TMP/stderr")"

assert_eq "32 48" "$(jq -rs '[.[] | select(.type=="callbacks_binary") | .provider_type_offset] | sort | map(tostring) | join(" ")' "$out")" \
	"provider_type_ offsets of the two binaries"
count() { jq -s --arg k "$2" --argjson p "$1" \
	'[.[] | select(.type=="callbacks_summary" and .kind==$k and .pid==$p) | .count] | add // 0' "$out"; }
for p in $PID_a $PID_b; do
	assert_eq $N "$(count "$p" FSREQCALLBACK)" "FSREQCALLBACK callbacks of $p"
	assert_eq $K "$(count "$p" TCPSERVERWRAP)" "TCPSERVERWRAP callbacks of $p"
	assert_eq $((2 * K)) "$(count "$p" TCPWRAP)" "TCPWRAP callbacks of $p"
	assert_eq $K "$(count "$p" SHUTDOWNWRAP)" "SHUTDOWNWRAP callbacks of $p"
	assert_eq "FSREQCALLBACK OTHER SHUTDOWNWRAP TCPSERVERWRAP TCPWRAP TIMERWRAP" \
		"$(jq -rs --argjson p "$p" '[.[] | select(.type=="callbacks_summary" and .pid==$p) | .kind] | unique | join(" ")' "$out")" \
		"kinds of $p (TIMERWRAP: the start delay)"
done
assert_jq "$out" 'select(.type=="losses") | [.[] | numbers] | add' 0 "losses"
