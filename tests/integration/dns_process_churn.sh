#!/usr/bin/env bash
# 50 node processes start and stop during one host-wide `nodetap dns` run
# (default mode: probes on the node executable, every process running it
# traced, including ones that start after nodetap). Each makes K lookups of a
# name served by the test DNS server in a private namespace, five processes at
# a time. Ground truth: the clients' own summaries (pid, lookups made). The
# lookups nodetap counts for that name add up exactly to those made, process
# by process; none is lost or counted twice. Other node processes on the host
# (other tests) may be traced too: only this test's name is compared.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"

P=50 K=4 PAR=5
name=churn-$$.nodetap.test
nt_netns_create
nt_dns_start "$NT_NS" "{\"$name\":{\"a\":\"127.0.0.1\"}}"

out=$TEST_TMP/out.jsonl
"$REPO/nodetap" dns --json --binary "$NODE" >"$out" 2>"$TEST_TMP/stderr" &
nt=$!
on_exit kill_wait $nt KILL
wait_for 60 "nodetap attached" grep -q '"type":"probe","function":"uv__getaddrinfo_done".*"placed":true' "$out"

start=$(now_ms)
clients=()
for ((i = 0; i < P; i++)); do
	# At most PAR at once; each one bounded by its own 30 s timeout.
	while [ ${#clients[@]} -ge $PAR ]; do
		wait "${clients[0]}" || true
		clients=("${clients[@]:1}")
	done
	ip netns exec "$NT_NS" "$NODE" "$TESTS_LIB/dns-client.js" --count $K --timeout-ms 30000 \
		--out "$TEST_TMP/client-$i.json" "$name" 2>"$TEST_TMP/client-$i.err" &
	clients+=($!)
done
for pid in "${clients[@]}"; do wait "$pid" || true; done
elapsed=$(($(now_ms) - start))

kill -0 $nt 2>/dev/null || fail "nodetap exited during the churn: $(cat "$TEST_TMP/stderr")"
kill -TERM $nt
rc=0
wait $nt || rc=$?
assert_eq 0 $rc "nodetap's exit status after SIGTERM"

# Ground truth: every client ran and reported its pid and lookups.
truth=$(cat "$TEST_TMP"/client-*.json | jq -sc --arg n "$name" \
	'map({key: (.pid | tostring), value: (.names[$n].ok + ([.names[$n].failed[]] | add // 0))}) | from_entries')
assert_eq $P "$(jq length <<<"$truth")" "clients that reported"
made=$(jq '[.[]] | add' <<<"$truth")
assert_eq $((P * K)) "$made" "lookups the clients made"
seen=$(jq -sc --arg n "$name" '[.[] | select(.type=="dns_summary" and .host==$n)] |
	group_by(.pid) | map({key: (.[0].pid | tostring), value: (map(.count) | add)}) | from_entries' "$out")
counted=$(jq '[.[]] | add // 0' <<<"$seen")
echo "dns_process_churn: $P processes x $K lookups in $elapsed ms: made $made, counted $counted in $(jq length <<<"$seen") processes; losses: $(jq -c 'select(.type=="losses")' "$out")"
assert_eq "$truth" "$(jq -c --argjson t "$truth" '. as $s | $t | with_entries(.value = ($s[.key] // 0))' <<<"$seen")" "lookups counted per process"
assert_eq "$made" "$counted" "lookups counted in all"

run_cleanups
assert_no_procs_left
