#!/usr/bin/env bash
# per-node: yes
# nodetap trace --callbacks against a known call: a node client resolves
# api.nodetap.test (the test's DNS server answers after 3 ms) and connects
# to port 443 where a server of the test accepts, N times, one after the
# other. Besides what trace_flow checks, the file must hold each call's
# chain of arrows: lookup -> the GETADDRINFOREQWRAP callback that ran its
# JavaScript callback, lookup -> connect, and connect -> the TCPCONNECTWRAP
# callback that handled the connection (oncomplete), the arrows' ends inside
# their slices, on the client's pid, in time order; and every callback is a
# duration event named by its kind with the same AsyncWrap address at both
# ends of its arrow.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"

N=3
nt_netns_create
nt_dns_start "$NT_NS" '{"api.nodetap.test":{"a":"127.0.0.1","delay_ms":3}}'
nt_closing_server "$NT_NS" 443

trace=$TEST_TMP/trace.json
client=$TEST_TMP/client.json
"$REPO/nodetap" trace --callbacks -o "$trace" -- ip netns exec "$NT_NS" "$NODE" "$TESTS_LIB/connect-client.js" \
	--family 4 --out "$client" api.nodetap.test:443:$N >"$TEST_TMP/stdout" 2>"$TEST_TMP/stderr" ||
	fail "nodetap exited $?: $(cat "$TEST_TMP/stderr")"
assert_jq "$client" '.targets["api.nodetap.test:443"].connected' $N "client: connections"
pid=$(jqv "$client" .pid)
assert_contains "lost since start: nothing" "$(cat "$TEST_TMP/stderr")" "losses"
assert_jq "$trace" '.otherData.lost_events' 0 "lost events"

# The trace event format, callbacks and arrows included.
assert_jq "$trace" '[.traceEvents[] | select((has("ph") and has("ts") and has("pid") and has("tid")) | not)] | length' 0 \
	"events without ph, ts, pid or tid"
assert_jq "$trace" '[.traceEvents[] | select(.ph == "X" and ((.dur | type) != "number" or .dur < 0))] | length' 0 \
	"X events without a duration"
assert_jq "$trace" '[.traceEvents[] | select(.ph == "s" or .ph == "f")] | group_by(.id)
	| map(select(length != 2 or (map(.ph) | sort) != ["f","s"] or (map(.cat) | unique | length) != 1)) | length' 0 \
	"flow ids that do not pair up"

# Callbacks: duration events of the client named by kind, among them at
# least N TCPCONNECTWRAP (one oncomplete per connect) and N
# GETADDRINFOREQWRAP (one per lookup).
for kind in TCPCONNECTWRAP GETADDRINFOREQWRAP; do
	assert_ge "$(jqv "$trace" "[.traceEvents[] | select(.ph == \"X\" and .cat == \"callback\" and .pid == $pid and .name == \"$kind\" and .args.kind == \"$kind\")] | length")" $N \
		"$kind callbacks of pid $pid"
done

# The chain of each call: for each connect to 443 of the client, its
# lookup (lookup -> connect arrow), the lookup's callback (lookup ->
# callback arrow, a GETADDRINFOREQWRAP slice with the lookup's wrap that
# starts when the lookup ends and holds the connect's start: the connect is
# made inside it), and the connect's callback (connect -> callback arrow, a
# TCPCONNECTWRAP slice with the connect's wrap, after the connect began).
chains=$(jq --argjson pid "$pid" '
	.traceEvents as $e
	| def slice_at($p): [$e[] | select(.ph == "X" and .pid == $p.pid and .tid == $p.tid and .ts <= $p.ts and $p.ts <= .ts + .dur)];
	  def arrow_from($x; $cat): [$e[] | select(.ph == "s" and .cat == $cat and .pid == $x.pid and .tid == $x.tid and .ts >= $x.ts and .ts <= $x.ts + $x.dur)];
	  def end_of($s): [$e[] | select(.ph == "f" and .id == $s.id)][0];
	[$e[] | select(.ph == "X" and .cat == "connect" and .pid == $pid and .args.port == 443)] as $conns
	| [$conns[] as $c
	   | ($e[] | select(.ph == "X" and .cat == "dns" and .pid == $pid and .args.lookup_id == $c.args.origin_lookup_id)) as $l
	   | (arrow_from($l; "callback.flow")[] | end_of(.) | slice_at(.)
	      | map(select(.cat == "callback" and .name == "GETADDRINFOREQWRAP")) | .[0]) as $lcb
	   | (arrow_from($c; "callback.flow")[] | end_of(.) | slice_at(.)
	      | map(select(.cat == "callback" and .name == "TCPCONNECTWRAP")) | .[0]) as $ccb
	   | select($lcb != null and $ccb != null
	            and $lcb.args.async_wrap == $l.args.async_wrap
	            and $ccb.args.async_wrap == $c.args.async_wrap
	            and $lcb.ts >= $l.ts and $lcb.ts <= $c.ts and $c.ts <= $lcb.ts + $lcb.dur
	            and $ccb.ts >= $c.ts)]
	| length' "$trace")
assert_eq $N "$chains" "connects to 443 with the chain lookup -> its callback, lookup -> connect -> its callback"
assert_match "$N callbacks? linked|[0-9]+ callbacks \([0-9]+ linked" "$(cat "$TEST_TMP/stderr")" "summary line"
