# cli.sh: helpers for the tests of nodetap's command line and lifecycle;
# source it after common.sh.
#
#   expect STATUS PATTERN ARGS...   nodetap ARGS exits STATUS with one line on
#                                   stderr matching PATTERN
#   own_bpf_ids PID prog|link       the ids of the BPF programs or links that
#                                   process PID holds (from its fdinfo): its
#                                   own, whatever else runs on the machine
#   bpf_ids_gone PROGS LINKS        true once none of these ids (newline
#                                   separated) is loaded any more
#   assert_no_orphan_progs WHAT NAME...  no program of these names is loaded
#                                   that no process holds

expect() {
	local want=$1 pattern=$2 rc=0
	shift 2
	"$REPO/nodetap" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" </dev/null || rc=$?
	assert_eq "$want" "$rc" "exit status of nodetap $*"
	assert_match "$pattern" "$(cat "$TEST_TMP/err")" "message of nodetap $*"
	assert_eq 1 "$(wc -l <"$TEST_TMP/err")" "lines on stderr from nodetap $*"
}

own_bpf_ids() {
	{ cat /proc/"$1"/fdinfo/* 2>/dev/null || true; } | sed -n "s/^$2_id:[[:space:]]*//p" | sort -un
}

bpf_ids_gone() {
	! bpftool -j prog show | jq -r '.[].id' | grep -qxF "$1" &&
		! bpftool -j link show | jq -r '.[].id' | grep -qxF "$2"
}

# orphan_progs NAME...: ids of loaded BPF programs with one of these names
# that no live process holds (a process holds a program through a prog, link
# or perf-link fd, whose fdinfo names it). Other tools and other nodetaps may
# run on this machine: what they hold is theirs, alive; what nobody holds is
# pinned or leaked.
orphan_progs() {
	local held names
	# Processes come and go while cat reads: a vanished file is no error.
	held=$({ cat /proc/[0-9]*/fdinfo/* 2>/dev/null || true; } | sed -n 's/^prog_id:[[:space:]]*//p' | sort -un)
	names=$(printf '%s\n' "$@" | jq -R . | jq -sc .)
	bpftool -j prog show | jq -r --argjson n "$names" '.[] | select(.name as $x | $n | index($x)) | .id' |
		sort -un | comm -23 - <(echo "$held")
}

# assert_no_orphan_progs WHAT NAME...: no program of these names is left
# that no process holds, allowing 10 s for the kernel to free those of
# processes that just exited (it frees them after an RCU grace period).
assert_no_orphan_progs() {
	local what=$1
	shift
	local deadline=$(($(date +%s%N) + 10000000000)) left
	while :; do
		left=$(orphan_progs "$@" | tr '\n' ' ')
		[ -n "$left" ] || return 0
		[ "$(date +%s%N)" -lt $deadline ] || fail "$what: programs loaded that no process holds: $left"
		sleep 0.1
	done
}
