#!/usr/bin/env bash
# IPv6 and IPv4-mapped addresses, -4/-6 in the kernel, and inbound: a node
# server traced with -p sees its accepted connections per local port and
# client address, exactly as many as the client made.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"

nt_netns_create
NS=$NT_NS
nt_dns_start "$NS" '{"v6.nodetap.test":{"aaaa":"::1"}}'
# A server on [::1]:7443 and 127.0.0.1:7080, counting what it accepts.
bg ip netns exec "$NS" "$NODE" -e '
	const net = require("net"); let n = 0;
	const h = (s) => { n++; s.on("error", () => {}); s.end(); };
	net.createServer(h).listen(7443, "::1");
	net.createServer(h).listen(7080, "127.0.0.1");
	process.on("SIGUSR2", () => require("fs").writeFileSync(process.argv[1], String(n)));
	setTimeout(() => process.exit(0), 60000);' "$TEST_TMP/accepted"
server=$BG_PID
wait_for 10 "servers listening" ip netns exec "$NS" bash -c 'exec 3<>/dev/tcp/127.0.0.1/7080'
# The readiness check itself was accepted: count from here.
kill -USR2 $server
wait_for 5 "server's baseline count" test -s "$TEST_TMP/accepted"
baseline=$(cat "$TEST_TMP/accepted")
rm -f "$TEST_TMP/accepted"

out=$TEST_TMP/server.jsonl
"$REPO/nodetap" connect --json -p $server >"$out" 2>"$TEST_TMP/server.err" &
srv_trace=$!
on_exit kill_wait $srv_trace
wait_for 10 "server tracer ready" grep -q '"type":"probe"' "$out"

v6=$TEST_TMP/v6.jsonl
# The name has only an AAAA record: that client asks for IPv6 alone.
"$REPO/nodetap" connect --json -6 -- ip netns exec "$NS" bash -c '
	"$1" "$2" --family 6 --out "$3/client.json" v6.nodetap.test:7443:4 &&
	"$1" "$2" --out "$3/client-v4.json" "[::ffff:127.0.0.1]:7080:3" 127.0.0.1:7080:2' \
	bash "$NODE" "$TESTS_LIB/connect-client.js" "$TEST_TMP" \
	>"$v6" 2>"$TEST_TMP/stderr" || fail "nodetap -6 exited $?: $(cat "$TEST_TMP/stderr")"
assert_jq "$TEST_TMP/client.json" '.targets["v6.nodetap.test:7443"].connected' 4 "client: IPv6 connects"
# -6: only the IPv6 destination; the v4-mapped one counts as IPv4.
assert_eq '[{"family":6,"dst_addr":"::1","dst_port":7443,"host":"v6.nodetap.test","established":4}]' \
	"$(jq -sc '[.[] | select(.type=="connect_summary") | {family, dst_addr, dst_port, host, established}]' "$v6")" "connects seen with -6"

v4=$TEST_TMP/v4.jsonl
"$REPO/nodetap" connect --json -4 -- ip netns exec "$NS" "$NODE" "$TESTS_LIB/connect-client.js" \
	--out "$TEST_TMP/client4.json" "[::1]:7443:1" "[::ffff:127.0.0.1]:7080:3" \
	>"$v4" 2>"$TEST_TMP/stderr" || fail "nodetap -4 exited $?: $(cat "$TEST_TMP/stderr")"
assert_eq '[{"family":4,"dst_addr":"127.0.0.1","dst_port":7080,"established":3}]' \
	"$(jq -sc '[.[] | select(.type=="connect_summary") | {family, dst_addr, dst_port, established}]' "$v4")" "connects seen with -4 (v4-mapped shown as IPv4)"

# The server's side: every accepted connection, per local port.
kill -USR2 $server
wait_for 5 "server's count" test -s "$TEST_TMP/accepted"
kill -INT $srv_trace
wait $srv_trace || fail "server tracer exited $?: $(cat "$TEST_TMP/server.err")"
accepted=$(($(cat "$TEST_TMP/accepted") - baseline))
assert_eq 13 "$accepted" "connections the server accepted (ground truth)"
assert_eq 5 "$(jq -s '[.[] | select(.type=="accept_summary" and .local_port==7443) | .count] | add' "$out")" "accepted on 7443"
assert_eq 8 "$(jq -s '[.[] | select(.type=="accept_summary" and .local_port==7080) | .count] | add' "$out")" "accepted on 7080"
assert_eq "127.0.0.1" "$(jq -rs '[.[] | select(.type=="accept_summary" and .local_port==7080) | .remote_addr] | unique | join(",")' "$out")" "client address on 7080"
assert_eq 0 "$(jq -s '[.[] | select(.type=="connect_summary")] | length' "$out")" "outbound connects of the server"
