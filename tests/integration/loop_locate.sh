#!/usr/bin/env bash
# Where the main loop is found, and what happens where it is not:
# - a C program on Debian's libuv.so.1 (a PIE library, without .symtab):
#   default_loop_struct from uv_default_loop's code plus the library's load
#   bias; its two 200 ms blockages are reported, in busy_wait_in_c; no
#   iteration counter (libuv 1.44);
# - a stripped copy of node (non-PIE, no .symtab): from uv_default_loop's code;
#   by default (every node process) it is traced under another name only
#   with --binary;
# - a node whose uv_default_loop and default_loop_struct are gone (names
#   mangled, stripped): one clear line saying so, and exit 1;
# - a process without libuv: one clear line, and exit 1.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/loop.sh"

bin=$TEST_TMP/uv-block
cc -O1 -g -fno-omit-frame-pointer -Wall -Werror -o "$bin" "$TESTS_LIB/uv-block.c" -luv || fail "building uv-block"
readelf -h "$bin" | grep -q 'DYN' || fail "uv-block is not PIE"

out=$TEST_TMP/uv.jsonl
go=$TEST_TMP/go.uv
nice -n -15 "$bin" 2 200 "$go" >"$TEST_TMP/uv.out" &
prog=$!
on_exit kill_wait $prog
wait_for 5 "uv-block started" test -s "$TEST_TMP/uv.out"
loop_trace "$out" -p "$prog"
wait_for 10 "its loop found" loop_found "$out" "$prog" main
# Where libuv.so is mapped in it, read while it runs: the ground truth for
# the loop's address below.
uvmaps=$(grep 'libuv\.so' "/proc/$prog/maps" | awk '{ print $1 }')
touch "$go"
wait $prog || fail "uv-block failed"
loop_stop
rec=$(jq -c 'select(.type=="loop")' "$out")
assert_eq "code of uv_default_loop" "$(jq -r .how <<<"$rec")" "how the loop was found in libuv.so"
assert_match 'libuv\.so' "$(jq -r .file <<<"$rec")" "the file the loop is in"
assert_eq false "$(jq -r .iterations <<<"$rec")" "iteration counter (libuv 1.44 has none)"
# The loop is libuv's own static default_loop_struct, in the library's
# mapping: its address is the library's load address plus the symbol's offset.
# (Not "0x7f...": ASLR puts libraries below 0x7f0000000000 too, 0x7efc...
# was seen.)
addr=$(jq -r .address <<<"$rec")
inlib=0
for r in $uvmaps; do
	[ $((16#${r%-*} <= addr && addr < 16#${r#*-})) = 1 ] && inlib=1
done
assert_eq 1 "$inlib" "address of the loop $addr in libuv.so's mappings ($(echo $uvmaps))"
blocks=$(jq -c 'select(.type=="loop_blockage" and (.ongoing | not))' "$out")
assert_eq 2 "$(grep -c . <<<"$blocks")" "blockages reported"
# This loop does not count idle time (node's do): its blockages end a sample
# period after their last sample, which comes early when the thread waits
# for a CPU near the end (docs/loop.md, limits).
for ms in $(jq -r '.duration_ns / 1e6' <<<"$blocks"); do
	assert_ge "$ms" 140 "blockage duration (ms)"
	assert_le "$ms" 260 "blockage duration (ms)"
done
assert_contains busy_wait_in_c "$(jq -r '.stacks[0].folded' <<<"$blocks" | head -n 1)" "the busy C function in the stack"
assert_eq null "$(jq -r '.js_functions[0].name' <<<"$blocks" | head -n 1)" "JavaScript function (none)"

# A stripped node: no .symtab, the loop from uv_default_loop's code.
cp "$NODE" "$TEST_TMP/node-stripped"
strip --strip-all "$TEST_TMP/node-stripped"
bg "$TEST_TMP/node-stripped" -e 'setTimeout(() => {}, 20000)'
stripped=$BG_PID
out=$TEST_TMP/stripped.jsonl
wait_for 10 "stripped node started" test -e "/proc/$stripped/exe"
"$REPO/nodetap" loop --json -p "$stripped" -d 1 >"$out" 2>"$TEST_TMP/stderr" ||
	fail "nodetap on a stripped node exited $?: $(cat "$TEST_TMP/stderr")"
assert_eq "code of uv_default_loop" "$(jq -r 'select(.type=="loop") | .how' "$out")" "how the loop was found in a stripped node"
assert_eq "$(nm "$NODE" | awk '$3 == "default_loop_struct" { print "0x" $1 }' | sed 's/0x0*/0x/')" \
	"$(jq -r 'select(.type=="loop") | .address' "$out")" "the loop's address (the symbol in the unstripped node)"

# Default mode (every node process): a node under a name that does not look
# like node ("node-stripped") is traced only when named with --binary.
bg "$TEST_TMP/node-stripped" -e 'setTimeout(() => {}, 20000)'
renamed=$BG_PID
out=$TEST_TMP/default.jsonl
"$REPO/nodetap" loop --json -d 2 >"$out" 2>"$TEST_TMP/stderr" ||
	fail "nodetap (default mode) exited $?: $(cat "$TEST_TMP/stderr")"
assert_eq 0 "$(jq -s --argjson p "$renamed" '[.[] | select(.pid==$p)] | length' "$out")" \
	"records of node-stripped without --binary"
out=$TEST_TMP/binary.jsonl
"$REPO/nodetap" loop --json -d 2 --binary "$TEST_TMP/node-stripped" >"$out" 2>"$TEST_TMP/stderr" ||
	fail "nodetap --binary exited $?: $(cat "$TEST_TMP/stderr")"
loop_found "$out" "$renamed" main || fail "node-stripped not traced with --binary"

# A node without uv_default_loop (name mangled, stripped): said, exit 1.
perl -pe 's/uv_default_loop\0/uv_default_looX\0/g' "$TEST_TMP/node-stripped" >"$TEST_TMP/node-noloop"
chmod +x "$TEST_TMP/node-noloop"
bg "$TEST_TMP/node-noloop" -e 'setTimeout(() => {}, 20000)'
noloop=$BG_PID
wait_for 10 "node-noloop started" test -e "/proc/$noloop/exe"
rc=0
"$REPO/nodetap" loop -p "$noloop" -d 1 >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
assert_eq 1 "$rc" "exit status for a node without uv_default_loop"
assert_match "pid $noloop \(node-noloop\): no event loop found: .*node-noloop: no symbol default_loop_struct and no uv_default_loop" \
	"$(cat "$TEST_TMP/err")" "message for a node without uv_default_loop"

# A process without libuv.
sleep 30 &
sleeper=$!
on_exit kill_wait $sleeper
rc=0
"$REPO/nodetap" loop -p $sleeper -d 1 >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
assert_eq 1 "$rc" "exit status for a process without libuv"
assert_match "pid $sleeper \(sleep\): no event loop found: no libuv in .*sleep or in a libuv library it maps" \
	"$(cat "$TEST_TMP/err")" "message for a process without libuv"
assert_match "no event loop to sample in the given process" "$(cat "$TEST_TMP/err")" "summary line"
