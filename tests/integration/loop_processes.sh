#!/usr/bin/env bash
# per-node: yes
# Which processes: `-- COMMAND` traces COMMAND and its children (two node
# processes started by a shell: both loops found, each with its own
# blockages; the shell has no loop and is not news in text); without -p,
# every node process, including one started after nodetap (found when it
# execs); a libuv program that is not node is left alone by default.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/loop.sh"

# -- COMMAND: a shell that starts two node processes.
out=$TEST_TMP/cmd.jsonl
go=$TEST_TMP/go.cmd
"$REPO/nodetap" loop --json -- bash -c "
	nice -n -15 '$NODE' --perf-basic-prof --interpreted-frames-native-stack --always-sparkplug '$LOOP_APP' block --count 1 --block-ms 200 --go '$go' --out '$TEST_TMP/a.json' &
	nice -n -15 '$NODE' --perf-basic-prof --interpreted-frames-native-stack --always-sparkplug '$LOOP_APP' block --count 2 --block-ms 150 --go '$go' --out '$TEST_TMP/b.json' &
	wait" >"$out" 2>"$TEST_TMP/stderr" &
nt=$!
on_exit kill_wait $nt
wait_for 15 "two node loops found" \
	bash -c "[ \$(jq -s '[.[] | select(.type==\"loop\" and .found)] | length' '$out') -ge 2 ]"
touch "$go"
wait $nt || fail "nodetap -- COMMAND exited $?: $(cat "$TEST_TMP/stderr")"
assert_eq 2 "$(jq -s '[.[] | select(.type=="loop" and .found)] | length' "$out")" \
	"loops found (each node process once, though each ran nice first)"
a=$(jq -r .pid "$TEST_TMP/a.json")
b=$(jq -r .pid "$TEST_TMP/b.json")
rm -f "/tmp/perf-$a.map" "/tmp/perf-$b.map"
# Blockages in the busy function (node's start-up may be one more, on a slow
# day: the loop's first iteration).
count() {
	jq -s --argjson p "$1" '[.[] | select(.type=="loop_blockage" and .pid==$p and (.ongoing | not) and
		(.js_functions[0].name // "" | startswith("busyWaitForNodetap ")))] | length' "$out"
}
assert_eq 1 "$(count "$a")" "blockages of the first node process"
assert_eq 2 "$(count "$b")" "blockages of the second node process"
assert_eq 2 "$(jq -s '[.[] | select(.type=="loop_summary")] | length' "$out")" "loops summarised (the shell has none)"
assert_contains bash "$(jq -r 'select(.type=="loop" and .found==false) | .comm' "$out")" \
	"the shell: a loop record saying none"
# In text, the shell is no news.
"$REPO/nodetap" loop -- bash -c "'$NODE' -e 'setTimeout(() => {}, 300)'" >/dev/null 2>"$TEST_TMP/stderr" ||
	fail "nodetap (text) -- COMMAND exited $?: $(cat "$TEST_TMP/stderr")"
assert_eq 1 "$(wc -l <"$TEST_TMP/stderr")" "lines on stderr (only the start line)"

# No -p: a node process started later is found; a libuv program that is not
# node is not traced.
bin=$TEST_TMP/uv-block
cc -O1 -g -fno-omit-frame-pointer -Wall -Werror -o "$bin" "$TESTS_LIB/uv-block.c" -luv || fail "building uv-block"
out=$TEST_TMP/all.jsonl
loop_trace "$out"
wait_for 10 "sampling started" grep -q '"type":"sampler"' "$out"
loop_app "$TEST_TMP/later.json" block --count 1 --block-ms 200
later=$APP_PID
"$bin" 1 200 >"$TEST_TMP/uv.out" &
uv=$!
on_exit kill_wait $uv
wait_for 10 "the later node's loop found" loop_found "$out" "$later" main
loop_go
wait "$later" || fail "loop-app exited $?"
wait $uv || fail "uv-block failed"
loop_stop
assert_eq 1 "$(count "$later")" "blockages of the node process started later"
assert_eq 0 "$(jq -s --argjson p "$uv" '[.[] | select(.pid==$p)] | length' "$out")" "records of a libuv program that is not node"
