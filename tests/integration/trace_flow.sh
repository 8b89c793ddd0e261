#!/usr/bin/env bash
# per-node: yes
# nodetap trace -o trace.json against a known call: a node client resolves
# api.nodetap.test (the test's DNS server answers after 3 ms) and connects
# to port 443 where a server of the test accepts, N times, one after the
# other. The file must follow the Chrome trace event format (every event
# has ph, ts, pid, tid; X events have dur; flow starts and ends pair up by
# id) and hold, for each of the N calls: the lookup as a duration event of
# the client's pid with the host, the connect to port 443 as a duration
# event, a flow from inside that lookup to inside that connect, and the
# connect's TCP state changes as instant events; with process and thread
# names.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"

N=3
nt_netns_create
nt_dns_start "$NT_NS" '{"api.nodetap.test":{"a":"127.0.0.1","delay_ms":3}}'
nt_closing_server "$NT_NS" 443

trace=$TEST_TMP/trace.json
client=$TEST_TMP/client.json
"$REPO/nodetap" trace -o "$trace" -- ip netns exec "$NT_NS" "$NODE" "$TESTS_LIB/connect-client.js" \
	--family 4 --out "$client" api.nodetap.test:443:$N >"$TEST_TMP/stdout" 2>"$TEST_TMP/stderr" ||
	fail "nodetap exited $?: $(cat "$TEST_TMP/stderr")"
assert_jq "$client" '.targets["api.nodetap.test:443"].connected' $N "client: connections"
pid=$(jqv "$client" .pid)
assert_eq "" "$(cat "$TEST_TMP/stdout")" "stdout with -o FILE"
assert_contains "lost since start: nothing" "$(cat "$TEST_TMP/stderr")" "losses"
ls "$TEST_TMP"/trace.json.tmp.* >/dev/null 2>&1 && fail "a temporary file was left behind"

# The trace event format.
assert_jq "$trace" '.traceEvents | type' array "traceEvents"
assert_jq "$trace" '[.traceEvents[] | select((has("ph") and has("ts") and has("pid") and has("tid")) | not)] | length' 0 \
	"events without ph, ts, pid or tid"
assert_jq "$trace" '[.traceEvents[] | select((.ts | type) != "number" or (.pid | type) != "number" or (.tid | type) != "number")] | length' 0 \
	"events whose ts, pid or tid is not a number"
assert_jq "$trace" '[.traceEvents[] | select(.ph == "X" and ((.dur | type) != "number" or .dur < 0))] | length' 0 \
	"X events without a duration"
assert_jq "$trace" '[.traceEvents[] | select(.ph == "i" and .s != "t")] | length' 0 "instant events not thread-scoped"
assert_jq "$trace" '[.traceEvents[].ph] | unique | map(select(. as $p | ["X","i","s","f","M"] | index($p) | not)) | length' 0 \
	"phases other than X, i, s, f, M"
# Flows pair up: one "s" and one "f" per id, same name and category, and
# every "f" binds to its enclosing slice.
assert_jq "$trace" '[.traceEvents[] | select(.ph == "s" or .ph == "f")] | group_by(.id)
	| map(select(length != 2 or (map(.ph) | sort) != ["f","s"] or (map(.cat) | unique | length) != 1)) | length' 0 \
	"flow ids that do not pair up"
assert_jq "$trace" '[.traceEvents[] | select(.ph == "f" and .bp != "e")] | length' 0 "flow ends without bp e"

# The known call: N lookups of api.nodetap.test, N connects to port 443, by
# the client's process.
lookups=$(jqv "$trace" "[.traceEvents[] | select(.ph == \"X\" and .cat == \"dns\" and .pid == $pid and .args.host == \"api.nodetap.test\")] | length")
assert_eq $N "$lookups" "lookups of api.nodetap.test by pid $pid"
connects=$(jqv "$trace" "[.traceEvents[] | select(.ph == \"X\" and .cat == \"connect\" and .pid == $pid and .args.port == 443 and .args.outcome == \"established\")] | length")
assert_eq $N "$connects" "established connects to port 443 by pid $pid"
# Each connect: a flow from inside its lookup to inside it, the lookup ends
# before the connect begins, and the host is the lookup's.
linked=$(jq --argjson pid "$pid" '
	.traceEvents as $e
	| [$e[] | select(.ph == "X" and .cat == "connect" and .pid == $pid and .args.port == 443)] as $conns
	| [$conns[] as $c
	   | ($e[] | select(.ph == "f" and .pid == $c.pid and .tid == $c.tid and .ts >= $c.ts and .ts <= $c.ts + $c.dur)) as $f
	   | ($e[] | select(.ph == "s" and .id == $f.id)) as $s
	   | ($e[] | select(.ph == "X" and .cat == "dns" and .pid == $s.pid and .tid == $s.tid and .ts <= $s.ts and $s.ts <= .ts + .dur)) as $l
	   | select($c.args.origin_lookup_id == $l.args.lookup_id
	            and $l.args.host == "api.nodetap.test" and $c.args.host == "api.nodetap.test"
	            and $l.ts + $l.dur <= $c.ts)]
	| length' "$trace")
assert_eq $N "$linked" "connects to 443 linked by a flow to the lookup of api.nodetap.test that preceded them"
# The client's lookups took at least the server's 3 ms.
assert_jq "$trace" "[.traceEvents[] | select(.ph == \"X\" and .cat == \"dns\" and .pid == $pid and .dur < 3000)] | length" 0 \
	"lookups shorter than the server's delay"
# TCP state changes of those connections: SYN_SENT and ESTABLISHED each N
# times, at or after their connect's start.
for st in SYN_SENT ESTABLISHED; do
	assert_jq "$trace" "[.traceEvents[] | select(.ph == \"i\" and .cat == \"tcp\" and .pid == $pid and .args.to == \"$st\" and .args.remote == \"127.0.0.1:443\")] | length" $N \
		"TCP $st instants of the client"
done
assert_ge "$(jqv "$trace" "[.traceEvents[] | select(.ph == \"i\" and .pid == $pid and .args.to == \"CLOSE\")] | length")" $N \
	"TCP CLOSE instants of the client"
# Names: the process and the thread that made the calls.
assert_match '^(node|MainThread)$' "$(jqv "$trace" "[.traceEvents[] | select(.ph == \"M\" and .name == \"thread_name\" and .pid == $pid and .tid == $pid) | .args.name] | first")" \
	"thread name of the client's main thread"
assert_eq 1 "$(jqv "$trace" "[.traceEvents[] | select(.ph == \"M\" and .name == \"process_name\" and .pid == $pid)] | length")" \
	"process_name records of the client"
assert_jq "$trace" '.otherData.clock' CLOCK_MONOTONIC "clock"
assert_jq "$trace" '.otherData.lost_events' 0 "lost events"
