#!/usr/bin/env bash
# timeout: 60
#
# harness_peer: proves nt_netns_peer (tests/lib/netns.sh), which the connect
# tests use for "a server N ms away" and "an address that blackholes". Two
# peers of one namespace, 0 ms and 20 ms away, each with a TCP server:
# connects to the near one are fast, to the far one take >= 20 ms, a closed
# port on the far one is refused after >= 20 ms, and a connect to the
# blackhole address gets no answer at all until the client's own timeout.
# Then everything must be gone: servers, delay lines, namespaces, interfaces.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"

nt_netns_create
NS=$NT_NS
nt_netns_peer "$NS" 0
NEAR_NS=$NT_PEER_NS NEAR=$NT_PEER_ADDR
nt_netns_peer "$NS" 20
FAR_NS=$NT_PEER_NS FAR=$NT_PEER_ADDR HOLE=$NT_BLACKHOLE_ADDR
[ "$NEAR" != "$FAR" ] || fail "two peers got one address ($FAR)"

server() { # NS ADDR: a TCP server on ADDR:8080 that closes every connection
	bg ip netns exec "$1" "$NODE" -e '
		const srv = require("net").createServer((s) => { s.on("error", () => {}); s.end(); });
		srv.listen(8080, process.argv[1]);
		setTimeout(() => process.exit(0), 60000); // bounded life' "$2"
}
server "$NEAR_NS" "$NEAR"
server "$FAR_NS" "$FAR"
wait_for 10 "servers listening" ip netns exec "$NS" "$NODE" -e '
	const net = require("net"); let n = 0;
	for (const h of process.argv.slice(1)) {
		const s = net.connect({ host: h, port: 8080, timeout: 500 });
		s.on("connect", () => { s.destroy(); if (++n === 2) process.exit(0); });
		s.on("error", () => process.exit(1)); s.on("timeout", () => process.exit(1));
	}' "$NEAR" "$FAR"

# Connect timings, sequential, from NS: "ADDR PORT COUNT TIMEOUT_MS" per run.
ip netns exec "$NS" "$NODE" -e '
	const net = require("net");
	const runs = JSON.parse(process.argv[1]);
	const out = {};
	function connectOnce(host, port, timeout) {
		return new Promise((resolve) => {
			const t = process.hrtime.bigint();
			const ms = () => Number(process.hrtime.bigint() - t) / 1e6;
			const s = net.connect({ host, port, timeout });
			s.on("connect", () => { s.destroy(); resolve({ result: "connected", ms: ms() }); });
			s.on("error", (e) => resolve({ result: e.code, ms: ms() }));
			s.on("timeout", () => { s.destroy(); resolve({ result: "timeout", ms: ms() }); });
		});
	}
	(async () => {
		for (const [key, host, port, count, timeout] of runs) {
			const rs = [];
			for (let i = 0; i < count; i++) rs.push(await connectOnce(host, port, timeout));
			const ms = rs.map((r) => r.ms).sort((a, b) => a - b);
			out[key] = { results: [...new Set(rs.map((r) => r.result))].join(","),
				min: ms[0], median: ms[ms.length >> 1], max: ms[ms.length - 1] };
		}
		console.log(JSON.stringify(out));
	})();' "[[\"near\", \"$NEAR\", 8080, 5, 2000], [\"far\", \"$FAR\", 8080, 5, 2000],
	  [\"refused\", \"$FAR\", 8081, 3, 2000], [\"hole\", \"$HOLE\", 8080, 1, 500]]" \
	>"$TEST_TMP/connects.json"
R=$TEST_TMP/connects.json
log "connects: $(cat "$R")"
assert_jq "$R" .near.results connected "connects to the near peer"
assert_jq "$R" .far.results connected "connects to the far peer"
assert_jq "$R" .refused.results ECONNREFUSED "connects to a closed port of the far peer"
assert_jq "$R" .hole.results timeout "connect to the blackhole address"
assert_lt "$(jqv "$R" .near.median)" 10 "median connect to the 0 ms peer (ms)"
assert_ge "$(jqv "$R" .far.min)" 20 "fastest connect to the 20 ms peer (ms)"
assert_lt "$(jqv "$R" .far.median)" 40 "median connect to the 20 ms peer (ms)"
assert_ge "$(jqv "$R" .refused.min)" 20 "fastest refusal from the 20 ms peer (ms)"
assert_ge "$(jqv "$R" .hole.min)" 500 "time until the blackhole connect gave up (ms)"

# Nothing left behind.
run_cleanups
assert_no_procs_left
for ns in "$NS" "$NEAR_NS" "$FAR_NS"; do
	if ip netns list | awk '{print $1}' | grep -qxF "$ns"; then fail "namespace $ns still exists"; fi
	[ ! -e "/etc/netns/$ns" ] || fail "/etc/netns/$ns still exists"
done
if ip -o link show | grep -q "ntv$$"; then fail "interfaces ntv$$* still exist"; fi
log "ok"
