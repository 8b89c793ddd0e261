# tcp.sh: helpers for the `nodetap tcp` tests. Source it after common.sh (and
# netns.sh, for nt_tcp_wait_closed). Call these directly, never inside $(...):
# they register cleanups.
#
#   nt_tcp_start OUT [ARGS...]  nodetap tcp --json ARGS in the background, its
#                               JSON lines in OUT (stderr in OUT.err); returns
#                               once its probe records are out, i.e. tracing
#                               has begun. Sets NT_TCP_PID.
#   nt_tcp_stop [PID OUT]       SIGINT to it (default: the last one started):
#                               the final report; fails unless it exits 0
#   nt_tcp_wait_closed NS       waits until no TCP socket in NS is between
#                               connect/accept and CLOSE (LISTEN and TIME-WAIT
#                               aside), so that every connection has ended

nt_tcp_start() {
	[ "$BASHPID" = "$$" ] || fail "nt_tcp_start must not run in a subshell"
	local out=$1
	shift
	"$REPO/nodetap" tcp --json "$@" >"$out" 2>"$out.err" &
	NT_TCP_PID=$!
	NT_TCP_OUT=$out
	on_exit kill_wait "$NT_TCP_PID"
	# The last hook attached: every probe record is out after it.
	wait_for 10 "nodetap tcp attached (its probe records)" grep -q '"function":"tcp_receive_reset"' "$out"
	kill -0 "$NT_TCP_PID" 2>/dev/null || fail "nodetap tcp exited at start: $(cat "$out.err")"
}

nt_tcp_stop() {
	local pid=${1:-$NT_TCP_PID} out=${2:-$NT_TCP_OUT} rc=0
	kill -INT "$pid" 2>/dev/null || fail "nodetap tcp (pid $pid) is gone: $(cat "$out.err")"
	wait "$pid" || rc=$?
	[ $rc = 0 ] || fail "nodetap tcp exited $rc: $(cat "$out.err")"
	grep -q '"type":"report".*"final":true' "$out" || fail "no final report in $out"
}

nt_tcp_wait_closed() {
	local ns=$1
	_nt_tcp_all_closed() {
		! ip netns exec "$ns" ss -Htan | awk '$1 != "LISTEN" && $1 != "TIME-WAIT"' | grep -q .
	}
	wait_for 10 "every TCP connection in $ns closed" _nt_tcp_all_closed
}
