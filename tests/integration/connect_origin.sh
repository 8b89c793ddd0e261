#!/usr/bin/env bash
# per-node: yes
# "Who is connecting to port 443?": N connections to 127.0.0.1:443 through a
# hostname that the test's DNS server resolves, made from the JS function
# connectFromApp. nodetap connect -P 443 counts exactly N, names the host,
# shows connectFromApp (marked as the application's own frame) in the origin
# stack, and neither counts nor copies to user space the connections the
# same client makes to another port.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"

N=7 M=3
nt_netns_create
nt_dns_start "$NT_NS" '{"api.nodetap.test":{"a":"127.0.0.1"}}'
# Servers on 443 and 8443 that close every connection they accept.
bg ip netns exec "$NT_NS" "$NODE" -e '
	const net = require("net");
	for (const p of [443, 8443]) net.createServer((s) => { s.on("error", () => {}); s.end(); }).listen(p, "127.0.0.1");
	setTimeout(() => process.exit(0), 60000);'
wait_for 10 "servers listening" ip netns exec "$NT_NS" bash -c 'exec 3<>/dev/tcp/127.0.0.1/443 && exec 4<>/dev/tcp/127.0.0.1/8443'

out=$TEST_TMP/nodetap.jsonl
"$REPO/nodetap" connect -P 443 --stacks --events --json -- ip netns exec "$NT_NS" "$NODE" \
	--perf-basic-prof --interpreted-frames-native-stack "$TESTS_LIB/connect-client.js" \
	--family 4 --out "$TEST_TMP/client.json" api.nodetap.test:443:$N api.nodetap.test:8443:$M \
	>"$out" 2>"$TEST_TMP/stderr" || fail "nodetap exited $?: $(cat "$TEST_TMP/stderr")"
pid=$(jq -r .pid "$TEST_TMP/client.json")
rm -f "/tmp/perf-$pid.map"
assert_jq "$TEST_TMP/client.json" '.targets["api.nodetap.test:443"].connected' $N "client: connections to 443"
assert_jq "$TEST_TMP/client.json" '.targets["api.nodetap.test:8443"].connected' $M "client: connections to 8443"

s=$(jq -c 'select(.type=="connect_summary")' "$out")
assert_eq 1 "$(jq -s length <<<"$s")" "connect_summary records (8443 filtered out)"
assert_eq "$N 443 127.0.0.1 api.nodetap.test $pid" \
	"$(jq -r '"\(.established) \(.dst_port) \(.dst_addr) \(.host) \(.pid)"' <<<"$s")" "established, port, address, host, pid"
assert_eq $N "$(jq -r .attempts <<<"$s")" "attempts"
assert_eq $N "$(jq -r .via_node <<<"$s")" "connects made through node::TCPWrap::Connect"
# The origin stack: the application's function, marked as its own.
app=$(jq -r '[.stacks[].origin.frames[] | select(.app) | .name] | unique | join("\n")' <<<"$s")
assert_contains "connectFromApp" "$app" "application frames of the origin stacks"
assert_eq $N "$(jq '[.stacks[] | select([.origin.frames[].name] | any(test("^connectFromApp "))) | .count] | add' <<<"$s")" "connects whose origin names connectFromApp"
# The connect stack exists too, and starts in the kernel's view of the caller.
assert_ne 0 "$(jq '[.stacks[].connect.frames | length] | min' <<<"$s")" "frames of the connect stacks"
# -P in the kernel: no event for 8443 reached user space either.
assert_eq $N "$(jq -s '[.[] | select(.type=="connect")] | length' "$out")" "connect events"
assert_eq 0 "$(jq -s '[.[] | select(.type=="connect" and .dst_port != 443)] | length' "$out")" "events for other ports"
assert_jq "$out" 'select(.type=="losses") | [.[] | numbers] | add' 0 "losses"
