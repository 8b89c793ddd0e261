#!/usr/bin/env bash
# A process whose /tmp is not the host's: its perf map is read from ITS /tmp,
# through /proc/PID/root, never from the host's. The traced node runs in a
# private mount namespace (unshare -m) with a tmpfs of its own on /tmp. Before
# that tmpfs is mounted, the same shell writes a decoy /tmp/perf-PID.map into
# the host's /tmp, naming every address "decoyHostMap"; after, it writes the
# real one into its own /tmp, naming every address "ownTmpMap". Both cover
# every JIT address, so whichever file nodetap reads names the JIT frames of
# the lookup stacks: the figure is how many frames each name got.
. "$(dirname "$0")/../lib/common.sh"

N=2
RANGE="1000 7ffffffff000"
dir=$TEST_TMP
rc=0
on_exit rm_decoy
rm_decoy() { [ -s "$dir/pid" ] && rm -f "/tmp/perf-$(cat "$dir/pid").map"; true; }

# fd 3: the client's summary, opened before /tmp (and $TEST_TMP in it) is
# hidden by the namespace's own tmpfs; fd 4: the client's script, copied into
# that tmpfs (the repository itself may be under /tmp, as a CI clone is). The namespace, its tmpfs and its mount
# go away with the last process in it (node, then nodetap's root fd).
timeout -k 5 120 "$REPO/nodetap" dns --stacks --json -- \
	unshare -m --propagation private sh -c "
		set -e
		echo \$\$ >'$dir/pid'
		exec 3>'$dir/client.json'
		rm -f /tmp/perf-\$\$.map
		printf '%s decoyHostMap\n' '$RANGE' >/tmp/perf-\$\$.map
		exec 4<'$TESTS_LIB/dns-client.js'
		mount -t tmpfs -o size=1m,mode=1777 nodetap-test-tmp /tmp
		cat <&4 >/tmp/dns-client.js
		exec 4<&-
		printf '%s ownTmpMap\n' '$RANGE' >/tmp/perf-\$\$.map
		exec '$NODE' --interpreted-frames-native-stack /tmp/dns-client.js \
			--count $N --linger-ms 1500 localhost >&3 3>&-" \
	>"$dir/out.jsonl" 2>"$dir/stderr" || rc=$?
[ $rc = 0 ] || fail "nodetap exited $rc: $(cat "$dir/stderr")"
pid=$(cat "$dir/pid")
assert_eq "$pid" "$(jq -r .pid "$dir/client.json")" "node kept the shell's pid"
# Not checked afterwards that the decoy is still there: another test runner
# on this machine removes /tmp/perf-PID.map files of exited processes. If it
# does so before nodetap reads, the check below still holds: only the
# process's own map can name the frames "ownTmpMap".

summary=$(jq -c 'select(.type=="dns_summary" and .host=="localhost")' "$dir/out.jsonl")
assert_ne "" "$summary" "dns_summary for localhost"
assert_eq $N "$(jq '[.stacks[].count] | add' <<<"$summary")" "lookups summed over stacks"
assert_eq uv_getaddrinfo "$(jq -r '.stacks[0].frames[0].name' <<<"$summary")" "innermost frame"
own=$(jq '[.stacks[].frames[] | select(.kind=="js" and .name=="ownTmpMap")] | length' <<<"$summary")
decoy=$({ grep -o decoyHostMap "$dir/out.jsonl" "$dir/stderr" || true; } | wc -l)
echo "perfmap_own_root: JIT frames named from the process's own /tmp: $own, from the host's decoy: $decoy"
assert_ge "$own" 1 "JIT frames named from the namespace's /tmp"
assert_eq 0 "$decoy" "names from the host's decoy perf map"
assert_eq "" "$(cat "$dir/stderr")" "warnings"

run_cleanups
assert_no_procs_left
