#!/usr/bin/env bash
# per-node: yes
# Without -p, connect traces node processes only, including ones started
# after it (marked by their first lookup or connect): a node client started
# later is counted; a shell connecting to the same server at the same time
# is not, unless --all asks for every process.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"

nt_netns_create
NS=$NT_NS
bg ip netns exec "$NS" "$NODE" -e '
	require("net").createServer((s) => { s.on("error", () => {}); s.end(); }).listen(7171, "127.0.0.1");
	setTimeout(() => process.exit(0), 60000);'
wait_for 10 "server listening" ip netns exec "$NS" bash -c 'exec 3<>/dev/tcp/127.0.0.1/7171'

shell_connects() { # N connects from bash, not node
	ip netns exec "$NS" bash -c 'for i in $(seq '"$1"'); do exec 3<>/dev/tcp/127.0.0.1/7171; exec 3>&-; done'
}

run() { # OUT ARGS...: nodetap in the background while node and bash connect
	local out=$1
	shift
	"$REPO/nodetap" connect --json --binary "$NODE" "$@" >"$out" 2>"$TEST_TMP/stderr" &
	local nt=$!
	on_exit kill_wait $nt
	wait_for 10 "probes placed" grep -q '"type":"probe"' "$out"
	ip netns exec "$NS" "$NODE" "$TESTS_LIB/connect-client.js" --out "$TEST_TMP/client.json" 127.0.0.1:7171:3
	shell_connects 2
	kill -INT $nt
	wait $nt || fail "nodetap $* exited $?: $(cat "$TEST_TMP/stderr")"
}

run "$TEST_TMP/default.jsonl"
client=$(jq -r .pid "$TEST_TMP/client.json")
assert_jq "$TEST_TMP/client.json" '.targets["127.0.0.1:7171"].connected' 3 "client: connects"
assert_eq 3 "$(jq -s --argjson p "$client" '[.[] | select(.type=="connect_summary" and .pid==$p and .dst_port==7171) | .established] | add' "$TEST_TMP/default.jsonl")" "node client's connects (started after nodetap)"
assert_eq 0 "$(jq -s '[.[] | select(.type=="connect_summary" and .comm=="bash")] | length' "$TEST_TMP/default.jsonl")" "records of bash without --all"

run "$TEST_TMP/all.jsonl" --all
assert_eq 2 "$(jq -s '[.[] | select(.type=="connect_summary" and .comm=="bash" and .dst_port==7171) | .established] | add' "$TEST_TMP/all.jsonl")" "bash's connects with --all"
