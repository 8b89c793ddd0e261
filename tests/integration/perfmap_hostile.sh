#!/usr/bin/env bash
# Hostile perf maps: /tmp/perf-PID.map is written by the traced process (or by
# anyone who can write /tmp) and read by nodetap as root. For each hostile
# kind, a real node process runs with that file planted as its perf map
# before it starts (node runs without --perf-basic-prof, so V8 never touches
# the file; its JIT frames make nodetap look for the map), and
# `nodetap dns --stacks --json` traces its lookups. Every case checks:
# nodetap ends in bounded time (timeout 120 s, measured figure printed), the
# lookups are counted, the innermost frame is still named uv_getaddrinfo from
# node's symbols, and no name from a file nodetap must refuse reaches the
# output. Refused files are named in a warning; read-but-bad content is
# counted in "perfmap_lines_rejected" or warned about (the 256 MB read cap).
# node lingers 1.5 s after its lookups so that nodetap notes the process
# (its root, uid, maps) while it lives: one that has begun to exit when its
# first event is read has no root to open the perf map through, and a refusal
# that never happens would pass the secrecy check for nothing.
#   symlink  -> a root-owned 0600 "secret" whose content is a valid perf map
#               line naming every address SECRET_...: O_NOFOLLOW refuses it
#   fifo     -> open must not wait for a writer: O_NONBLOCK, not a regular file
#   otheruid -> a valid map owned by uid 65534, not node's uid 0: refused
#   longline -> a 1 MB line (skipped, counted) then a valid line that names
#               every JIT frame: the parser resumes after the long line
#   sparse   -> a 1 GB sparse file: read up to the cap, warned, bounded
. "$(dirname "$0")/../lib/common.sh"

N=2
MAX_S=120
# Everything covered: any JIT address names as the marker when a file is read.
RANGE="1000 7ffffffff000"

# run_case NAME PLANT: PLANT is a shell snippet run as the traced process
# (pid $$, which node then keeps through exec) that creates /tmp/perf-$$.map.
# Each case runs in a private mount namespace with a tmpfs of its own on /tmp
# (the secret is there too): another test runner on this machine removes the
# /tmp/perf-PID.map files of exited processes in the host's /tmp, and nodetap
# reads the map when it reports, after node exited. The namespace, its tmpfs
# and all in it go away with nodetap's last reference (perfmap_own_root).
run_case() {
	local name=$1 plant=$2 dir=$TEST_TMP/$1 t0 t1 rc=0
	mkdir -p "$dir"
	t0=$(now_ms)
	# fd 3: the client's summary, opened before $TEST_TMP is hidden; fd 4:
	# the client's script, copied into the private /tmp (the repository
	# itself may be under /tmp, as a CI clone is).
	timeout -k 5 $MAX_S "$REPO/nodetap" dns --stacks --json -- \
		unshare -m --propagation private sh -c "
		set -e
		exec 3>'$dir/client.json'
		exec 4<'$TESTS_LIB/dns-client.js'
		mount -t tmpfs -o size=64m,mode=1777 nodetap-test-tmp /tmp
		cat <&4 >/tmp/dns-client.js
		exec 4<&-
		printf '%s SECRET_SHADOW\n' '$RANGE' >/tmp/shadow
		chmod 600 /tmp/shadow
		$plant
		ls -l /tmp/perf-\$\$.map >&3
		exec '$NODE' --interpreted-frames-native-stack /tmp/dns-client.js \
			--count $N --linger-ms 1500 localhost >&3 3>&-" \
		>"$dir/out.jsonl" 2>"$dir/stderr" || rc=$?
	t1=$(now_ms)
	[ $rc != 124 ] && [ $rc != 137 ] || fail "$name: nodetap did not end within ${MAX_S}s"
	[ $rc = 0 ] || fail "$name: nodetap exited $rc: $(cat "$dir/stderr")"
	assert_match "perf-[0-9]+\.map" "$(head -1 "$dir/client.json")" "$name: the hostile perf map planted"
	echo "perfmap_hostile: $name: nodetap ran $((t1 - t0)) ms; stderr: $(tr '\n' ' ' <"$dir/stderr")"
	local summary
	summary=$(jq -c 'select(.type=="dns_summary" and .host=="localhost")' "$dir/out.jsonl")
	assert_ne "" "$summary" "$name: dns_summary for localhost"
	assert_eq $N "$(jq '[.stacks[].count] | add' <<<"$summary")" "$name: lookups summed over stacks"
	assert_eq uv_getaddrinfo "$(jq -r '.stacks[0].frames[0].name' <<<"$summary")" "$name: innermost frame"
	# No marker of a file nodetap must not read, anywhere in what it printed.
	if grep -q "SECRET_" "$dir/out.jsonl" "$dir/stderr"; then
		fail "$name: the content of a refused file reached the output: $(grep -ho 'SECRET_[A-Za-z_]*' "$dir/out.jsonl" "$dir/stderr" | sort -u | tr '\n' ' ')"
	fi
}

# The secret (/tmp/shadow in the namespace): root-owned, mode 0600, a valid
# perf map line naming every address.
run_case symlink "ln -s /tmp/shadow /tmp/perf-\$\$.map"
assert_match "perf map /tmp/perf-[0-9]+\.map: is a symlink, refused" "$(cat "$TEST_TMP/symlink/stderr")" "symlink: refusal warned"

run_case fifo "mkfifo -m 600 /tmp/perf-\$\$.map"
assert_match "perf map /tmp/perf-[0-9]+\.map: not a regular file, refused" "$(cat "$TEST_TMP/fifo/stderr")" "fifo: refusal warned"

run_case otheruid "printf '%s SECRET_OTHER_UID\n' '$RANGE' >/tmp/perf-\$\$.map; chown 65534 /tmp/perf-\$\$.map"
assert_match "perf map /tmp/perf-[0-9]+\.map: owned by uid 65534, not by the process's uid 0, refused" \
	"$(cat "$TEST_TMP/otheruid/stderr")" "otheruid: refusal warned"

# A 1 MB line whose text would name every frame if it were cut instead of
# skipped, then a good line: JIT frames must be named by the good line.
run_case longline "{ printf '%s SECRET_LONG_LINE' '$RANGE'; head -c 1048576 /dev/zero | tr '\\0' A; printf '\n%s goodAfterLongLine\n' '$RANGE'; } >/tmp/perf-\$\$.map"
assert_jq "$TEST_TMP/longline/out.jsonl" 'select(.type=="losses") | .perfmap_lines_rejected' 1 "longline: the 1 MB line counted as rejected"
js=$(jq -r 'select(.type=="dns_summary") | [.stacks[].frames[] | select(.kind=="js") | .name] | unique | join(" ")' "$TEST_TMP/longline/out.jsonl")
assert_contains goodAfterLongLine "$js" "longline: the line after the 1 MB line names JIT frames"

# 1 GB of zeros, sparse: no newline anywhere. Read up to the cap (one
# overlong line), warned about, and nodetap still ends in bounded time.
run_case sparse "truncate -s 1G /tmp/perf-\$\$.map"
assert_match "perf map /tmp/perf-[0-9]+\.map is larger than 256 MB: read only its first 256 MB" \
	"$(cat "$TEST_TMP/sparse/stderr")" "sparse: cap warned"
assert_jq "$TEST_TMP/sparse/out.jsonl" 'select(.type=="losses") | .perfmap_lines_rejected' 1 "sparse: the newline-less 256 MB counted as one rejected line"

run_cleanups
assert_no_procs_left
