# common.sh: helpers for the bash integration tests. Source it first:
#
#   #!/usr/bin/env bash
#   # per-node: yes
#   . "$(dirname "$0")/../lib/common.sh"
#
# What it sets up on sourcing:
#   - `set -Eeuo pipefail`; a failing command anywhere (also in a function) fails
#     the test with a message naming its file and line.
#   - One EXIT/INT/TERM trap that runs the registered cleanups (last first),
#     each one even if an earlier one failed. Register with `on_exit CMD...`.
#   - $TEST_TMP: a fresh directory, removed at exit after the cleanups
#     (NODETAP_KEEP_TMP=1 keeps it for a post-mortem).
#   - $NODE (default /usr/bin/node) and $NODE_MAJOR, $REPO, $TESTS_LIB.
#   - $NODETAP_TEST_RUN: a marker exported into the environment of everything
#     the test starts; `assert_no_procs_left` finds leftovers by it (also those
#     that left the process tree or entered a namespace).
#
# Assertions print "FAIL: <what>: expected <x>, got <y>" to stderr and exit 1.

set -Eeuo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TESTS_LIB=$REPO/tests/lib
NODE=${NODE:-/usr/bin/node}
if [ -z "${NODE_MAJOR:-}" ]; then
	NODE_MAJOR=$("$NODE" --version 2>/dev/null | sed -n 's/^v\([0-9]*\)\..*/\1/p')
fi
export NODE NODE_MAJOR
export NODETAP_TEST_RUN=${NODETAP_TEST_RUN:-$$.$RANDOM$RANDOM}
TEST_NAME=${TEST_NAME:-$(basename "$0" .sh)}

if [ "$(id -u)" -ne 0 ]; then
	echo "FAIL: $TEST_NAME must run as root (network namespaces, BPF)" >&2
	exit 1
fi

# ---- messages -------------------------------------------------------------

log() { printf '[%s] %s\n' "$(date +%T.%3N)" "$*" >&2; }

fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

# ---- cleanup ---------------------------------------------------------------

_NT_CLEANUPS=()
_NT_CLEANING=0

# on_exit CMD [ARGS...]: run CMD at exit (also on failure, SIGINT, SIGTERM).
# Cleanups run last-registered first. Arguments are kept as given.
on_exit() {
	local q
	printf -v q '%q ' "$@"
	_NT_CLEANUPS+=("$q")
}

# run_cleanups: runs and forgets every registered cleanup now (a test calls it
# before checking that nothing was left behind). Safe to call twice.
run_cleanups() {
	local i
	for ((i = ${#_NT_CLEANUPS[@]} - 1; i >= 0; i--)); do
		local c=${_NT_CLEANUPS[i]}
		unset '_NT_CLEANUPS[i]'
		# Each cleanup on its own: one failing must not stop the others.
		( set +e; eval "$c" ) || log "cleanup failed ($?): $c"
	done
	_NT_CLEANUPS=()
}

_nt_on_exit() {
	local rc=$?
	[ $_NT_CLEANING = 1 ] && return
	_NT_CLEANING=1
	set +e
	run_cleanups
	if [ "${NODETAP_KEEP_TMP:-0}" = 1 ]; then
		log "keeping $TEST_TMP"
	else
		rm -rf "$TEST_TMP"
	fi
	exit $rc
}
_nt_on_signal() {
	log "caught SIG$1, cleaning up"
	trap - INT TERM
	exit $((128 + $2))
}
trap _nt_on_exit EXIT
trap '_nt_on_signal INT 2' INT
trap '_nt_on_signal TERM 15' TERM
trap 'echo "FAIL: $TEST_NAME: command failed (exit $?) at ${BASH_SOURCE[0]##*/}:$LINENO: $BASH_COMMAND" >&2' ERR

# Removed at exit after every cleanup ran (NODETAP_KEEP_TMP=1 keeps it).
TEST_TMP=$(mktemp -d "/tmp/nodetap-test.$TEST_NAME.XXXXXX")

# ---- processes -------------------------------------------------------------

# bg CMD [ARGS...]: start CMD in the background, killed at exit if still
# running (TERM, then KILL after 3 s). Sets $BG_PID.
bg() {
	"$@" &
	BG_PID=$!
	on_exit kill_wait "$BG_PID"
}

# kill_wait PID [SIGNAL] [TIMEOUT_S]: signal PID (default TERM) and wait for it
# to be gone, KILLing it after TIMEOUT_S (default 3). Returns 0 once it is gone.
kill_wait() {
	local pid=$1 sig=${2:-TERM} t=${3:-3} i
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	kill -"$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < t * 20; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null || true
			return 0
		fi
		# A child of ours stays a zombie until reaped: reap it if it is one.
		if [ "$(_nt_state "$pid")" = Z ]; then
			wait "$pid" 2>/dev/null || true
			return 0
		fi
		sleep 0.05
	done
	log "pid $pid did not exit on SIG$sig within ${t}s: KILL"
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	return 0
}

_nt_state() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	stat=${stat##*) }
	echo "${stat%% *}"
}

# procs_left: prints "PID COMMAND" for every live process (not a zombie) that
# carries this test's marker, except this shell and its ancestors. Uses
# builtins only, so that it does not find its own helpers.
procs_left() {
	local d pid stat state e found cmd ancestors=" " p=$$
	local -a env
	# This shell and its ancestors (the runner, subshells of this shell).
	while [ -n "$p" ] && [ "$p" != 0 ]; do
		ancestors+="$p "
		read -r stat 2>/dev/null <"/proc/$p/stat" || break
		stat=${stat##*) }
		stat=${stat#* }
		p=${stat%% *}
	done
	ancestors+="$BASHPID "
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		[[ $ancestors == *" $pid "* ]] && continue
		# environ holds NUL-separated entries.
		mapfile -d '' env 2>/dev/null <"$d/environ" || continue
		found=0
		for e in "${env[@]}"; do
			if [ "$e" = "NODETAP_TEST_RUN=$NODETAP_TEST_RUN" ]; then found=1; break; fi
		done
		[ $found = 1 ] || continue
		read -r stat 2>/dev/null <"$d/stat" || continue
		stat=${stat##*) }
		state=${stat%% *}
		[ "$state" = Z ] && continue
		cmd=$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null) || cmd='?'
		echo "$pid ${cmd:0:200}"
	done
}

# assert_no_procs_left: fails if any process this test started is still alive
# (call it after run_cleanups).
assert_no_procs_left() {
	local left
	left=$(procs_left)
	[ -z "$left" ] || fail "processes left behind by the test:"$'\n'"$left"
}

# ---- waiting ---------------------------------------------------------------

# wait_for TIMEOUT_S WHAT CMD [ARGS...]: run CMD every 50 ms until it succeeds;
# fail with "timed out after TIMEOUT_S s waiting for WHAT" if it never does.
wait_for() {
	local timeout=$1 what=$2
	shift 2
	local deadline=$(($(date +%s%N) + timeout * 1000000000))
	while :; do
		if "$@" >/dev/null 2>&1; then return 0; fi
		[ "$(date +%s%N)" -lt $deadline ] || fail "timed out after ${timeout}s waiting for $what"
		sleep 0.05
	done
}

# now_ms: CLOCK_REALTIME milliseconds, for durations within a test.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- assertions --------------------------------------------------------------

# assert_eq EXPECTED ACTUAL WHAT
assert_eq() {
	[ "$1" = "$2" ] || fail "$3: expected '$1', got '$2'"
}

# assert_ne UNEXPECTED ACTUAL WHAT
assert_ne() {
	[ "$1" != "$2" ] || fail "$3: expected anything but '$1'"
}

# _nt_num_cmp A OP B: numeric comparison (integers or decimals) with awk.
_nt_num_cmp() {
	[[ $1 =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]] || return 2
	[[ $3 =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]] || return 2
	awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN {
		a += 0; b += 0; r = 0
		if (op == "<") r = a < b
		else if (op == "<=") r = a <= b
		else if (op == ">") r = a > b
		else if (op == ">=") r = a >= b
		else if (op == "==") r = a == b
		exit !r
	}'
}

_nt_assert_num() {
	local a=$1 op=$2 b=$3 what=$4 rc=0
	_nt_num_cmp "$a" "$op" "$b" || rc=$?
	[ $rc = 2 ] && fail "$what: expected a number $op $b, got '$a'"
	[ $rc = 0 ] || fail "$what: expected $op $b, got $a"
}

# assert_ge ACTUAL MIN WHAT / assert_gt / assert_le / assert_lt / assert_num_eq
assert_ge() { _nt_assert_num "$1" '>=' "$2" "$3"; }
assert_gt() { _nt_assert_num "$1" '>' "$2" "$3"; }
assert_le() { _nt_assert_num "$1" '<=' "$2" "$3"; }
assert_lt() { _nt_assert_num "$1" '<' "$2" "$3"; }
assert_num_eq() { _nt_assert_num "$1" '==' "$2" "$3"; }

# assert_match REGEX ACTUAL WHAT (bash extended regex)
assert_match() {
	[[ $2 =~ $1 ]] || fail "$3: expected a match of /$1/, got '$2'"
}

# assert_contains NEEDLE HAYSTACK WHAT
assert_contains() {
	[[ $2 == *"$1"* ]] || fail "$3: expected to contain '$1', got '$2'"
}

# assert_file FILE WHAT: FILE exists and is not empty.
assert_file() {
	[ -s "$1" ] || fail "$2: expected a non-empty file $1"
}

# jqv FILE FILTER [JQ_ARGS...]: prints jq -r FILTER on FILE (JQ_ARGS such as
# --arg n v go to jq); fails the test if FILE is not JSON or the filter errs.
jqv() {
	local f=$1 filter=$2 out
	shift 2
	out=$(jq -r "$@" "$filter" "$f" 2>&1) || fail "jq '$filter' on $f failed: $out"
	printf '%s\n' "$out"
}

# assert_jq FILE FILTER EXPECTED [WHAT]: jq -r FILTER on FILE prints EXPECTED.
assert_jq() {
	local got
	got=$(jqv "$1" "$2")
	[ "$got" = "$3" ] || fail "${4:-$2 in ${1##*/}}: expected '$3', got '$got'"
}
