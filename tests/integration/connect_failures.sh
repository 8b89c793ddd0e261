#!/usr/bin/env bash
# timeout: 90
# Failed connects by reason, against ground truth: a closed port is refused;
# an address that the test's namespace blackholes times out in the kernel
# (tcp_syn_retries=1 in the client's namespace: about 3 s); the same address
# with the client's own 300 ms timeout is closed by the caller. And
# connect latency: a server 20 ms away (delay line) lands in the 16-32 ms
# bucket, every time.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"

nt_netns_create
NS=$NT_NS
nt_netns_peer "$NS" 20
FAR=$NT_PEER_ADDR HOLE=$NT_BLACKHOLE_ADDR
ip netns exec "$NS" sysctl -qw net.ipv4.tcp_syn_retries=1
bg ip netns exec "$NT_PEER_NS" "$NODE" -e '
	require("net").createServer((s) => { s.on("error", () => {}); s.end(); }).listen(8080, process.argv[1]);
	setTimeout(() => process.exit(0), 80000);' "$FAR"
wait_for 10 "server listening" ip netns exec "$NS" bash -c "exec 3<>/dev/tcp/$FAR/8080"

N=6
out=$TEST_TMP/nodetap.jsonl
client() { ip netns exec "$NS" "$NODE" "$TESTS_LIB/connect-client.js" "$@"; }
"$REPO/nodetap" connect --json -- bash -c "
	$(declare -f client); NS=$NS NODE=$NODE TESTS_LIB=$TESTS_LIB
	client --out $TEST_TMP/refused.json $FAR:8081:3 &&
	client --out $TEST_TMP/far.json $FAR:8080:$N &&
	client --timeout-ms 10000 --out $TEST_TMP/kernel-timeout.json $HOLE:8080:1 &&
	client --timeout-ms 300 --out $TEST_TMP/closed.json $HOLE:8080:2" \
	>"$out" 2>"$TEST_TMP/stderr" || fail "nodetap exited $?: $(cat "$TEST_TMP/stderr")"

# Ground truth, from the clients.
assert_jq "$TEST_TMP/refused.json" ".targets[\"$FAR:8081\"].errors.ECONNREFUSED" 3 "client: refused"
assert_jq "$TEST_TMP/far.json" ".targets[\"$FAR:8080\"].connected" $N "client: connected"
assert_jq "$TEST_TMP/kernel-timeout.json" ".targets[\"$HOLE:8080\"].errors.ETIMEDOUT" 1 "client: kernel timeout"
assert_jq "$TEST_TMP/closed.json" ".targets[\"$HOLE:8080\"].timeout" 2 "client: own timeout"

row() { jq -c --arg a "$1" --argjson p "$2" 'select(.type=="connect_summary" and .dst_addr==$a and .dst_port==$p)' "$out" | jq -s 'reduce .[] as $r ({}; . + ($r | with_entries(select(.value|type=="number"))) )'; }
refused=$(row "$FAR" 8081)
assert_eq "3 3 0" "$(jq -r '"\(.attempts) \(.refused) \(.established)"' <<<"$refused")" "attempts, refused, established to a closed port"
hole=$(jq -s --arg a "$HOLE" '[.[] | select(.type=="connect_summary" and .dst_addr==$a)] | {t: (map(.timed_out) | add), c: (map(.closed) | add), a: (map(.attempts) | add)}' "$out")
assert_eq '{"t":1,"c":2,"a":3}' "$(jq -c . <<<"$hole")" "timed out in the kernel / closed by the caller / attempts to the blackhole"
far=$(jq -c --arg a "$FAR" 'select(.type=="connect_summary" and .dst_addr==$a and .dst_port==8080)' "$out")
assert_eq $N "$(jq -r .established <<<"$far")" "established to the server 20 ms away"
assert_eq $N "$(jq '[.latency_hist.buckets[] | select(.low==16384) | .count] | add' <<<"$far")" "connects in the 16-32 ms bucket"
assert_ge "$(jq -r .avg_ns <<<"$far")" 20000000 "average connect latency (ns)"
