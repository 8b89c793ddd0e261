#!/usr/bin/env bash
# timeout: 120
#
# Which processes nodetap tcp traces, five instances side by side on one
# workload in a namespace:
#   A  default: node processes only, running or started later;
#   B  default with --binary COPY (a node binary under another name);
#   C  --all: every process, and resets sent for no socket (a closed port)
#      counted for the remote that provoked them, as pid 0;
#   D  -p SERVER: that process only;
#   E  -- bash -c '...': COMMAND's processes, node or not, and nothing else.
# The workload: a node server S that listens and has a client connection open
# from before nodetap started (its accepted connections must still be S's,
# "in", and the early connection is reported when it closes, with its
# direction inferred and its bytes exact); a node client started later; bash
# connecting through /dev/tcp (not node); node spawning bash that connects
# (the child is not node once it execs); child_process.fork (a node child);
# the renamed node copy.
. "$(dirname "$0")/../lib/common.sh"
. "$TESTS_LIB/netns.sh"
. "$TESTS_LIB/tcp.sh"

N=1000 M=2000
nt_netns_create
NS=$NT_NS
peer=$TESTS_LIB/tcp-peer.js
in_ns() { ip netns exec "$NS" "$@"; }

# Before any nodetap: the server, and a connection to it that waits.
# (`ip netns exec` execs node: the pid is node's.)
bg ip netns exec "$NS" "$NODE" "$peer" server --listen 127.0.0.1:8080 --reply $M --ready "$TEST_TMP/s.ready"
S=$BG_PID
wait_for 10 "server" test -s "$TEST_TMP/s.ready"
bg ip netns exec "$NS" "$NODE" "$peer" client --connect 127.0.0.1:8080 --send $N --expect $M \
	--go-file "$TEST_TMP/go" --connected-file "$TEST_TMP/early.port" --out "$TEST_TMP/early.json"
EARLY=$BG_PID
wait_for 10 "early connection" test -s "$TEST_TMP/early.port"
cp "$NODE" "$TEST_TMP/svcbin"

nt_tcp_start "$TEST_TMP/A.jsonl"; A=$NT_TCP_PID
nt_tcp_start "$TEST_TMP/B.jsonl" --binary "$TEST_TMP/svcbin"; B=$NT_TCP_PID
nt_tcp_start "$TEST_TMP/C.jsonl" --all; C=$NT_TCP_PID
nt_tcp_start "$TEST_TMP/D.jsonl" -p "$S"; D=$NT_TCP_PID

touch "$TEST_TMP/go"
wait "$EARLY" || fail "the early client failed"
client() { # OUT [NODE]
	in_ns "${2:-$NODE}" "$peer" client --connect 127.0.0.1:8080 --send $N --expect $M --out "$1" ||
		fail "client $1 failed"
}
client "$TEST_TMP/late.json"
client "$TEST_TMP/renamed.json" "$TEST_TMP/svcbin"
# bash, not node: connects, sends a byte, closes.
in_ns bash -c 'echo $$ >"$1"; exec 3<>/dev/tcp/127.0.0.1/8080; printf x >&3; exec 3<&-' \
	bash "$TEST_TMP/bash.pid" || fail "bash /dev/tcp client failed"
# node spawning bash, which connects.
in_ns "$NODE" -e '
	const { spawnSync } = require("child_process");
	require("fs").writeFileSync(process.argv[1], String(process.pid));
	const r = spawnSync("bash", ["-c", "echo $$ >\"$0\"; exec 3<>/dev/tcp/127.0.0.1/8080; printf x >&3; exec 3<&-", process.argv[2]], { stdio: "inherit" });
	process.exit(r.status);' "$TEST_TMP/spawner.pid" "$TEST_TMP/spawned.pid" || fail "node spawning bash failed"
# child_process.fork: a node child that connects.
in_ns "$NODE" -e '
	const { fork } = require("child_process");
	require("fs").writeFileSync(process.argv[1], String(process.pid));
	const c = fork(process.argv[2], ["client", "--connect", "127.0.0.1:8080", "--send", "'$N'", "--expect", "'$M'", "--out", process.argv[3]]);
	c.on("exit", (code) => process.exit(code));' "$TEST_TMP/forker.pid" "$peer" "$TEST_TMP/forked.json" ||
	fail "node forking a node client failed"
# A connect to a closed port: the kernel resets it, for no socket.
in_ns bash -c 'exec 3<>/dev/tcp/127.0.0.1/9' 2>/dev/null && fail "a connect to a closed port succeeded"
nt_tcp_wait_closed "$NS"
nt_tcp_stop "$A" "$TEST_TMP/A.jsonl"
nt_tcp_stop "$B" "$TEST_TMP/B.jsonl"
nt_tcp_stop "$C" "$TEST_TMP/C.jsonl"
nt_tcp_stop "$D" "$TEST_TMP/D.jsonl"

LATE=$(jqv "$TEST_TMP/late.json" .pid) RENAMED=$(jqv "$TEST_TMP/renamed.json" .pid)
FORKED=$(jqv "$TEST_TMP/forked.json" .pid)
BASH=$(cat "$TEST_TMP/bash.pid") SPAWNER=$(cat "$TEST_TMP/spawner.pid") SPAWNED=$(cat "$TEST_TMP/spawned.pid")
FORKER=$(cat "$TEST_TMP/forker.pid")
EARLY=$(jqv "$TEST_TMP/early.json" .pid)
log "server $S early $EARLY late $LATE renamed $RENAMED bash $BASH spawner $SPAWNER spawned $SPAWNED forker $FORKER forked $FORKED"

count() { # INSTANCE PID: that pid's tcp_conn records
	jq -s --argjson p "$2" '[.[] | select(.type=="tcp_conn" and .pid==$p)] | length' "$TEST_TMP/$1.jsonl"
}
expect_counts() { # INSTANCE PID=COUNT...
	local inst=$1 kv
	shift
	for kv in "$@"; do
		assert_eq "${kv#*=}" "$(count "$inst" "${kv%=*}")" "$inst: connections of pid ${kv%=*}"
	done
}
# The server accepted 6: early, late, renamed, bash, spawned, forked.
expect_counts A "$S=6" "$EARLY=1" "$LATE=1" "$FORKED=1" "$RENAMED=0" "$BASH=0" "$SPAWNER=0" "$SPAWNED=0" "$FORKER=0"
expect_counts B "$S=6" "$EARLY=1" "$LATE=1" "$FORKED=1" "$RENAMED=1" "$BASH=0" "$SPAWNED=0"
expect_counts C "$S=6" "$EARLY=1" "$LATE=1" "$FORKED=1" "$RENAMED=1" "$BASH=1" "$SPAWNED=1" "$SPAWNER=0" "$FORKER=0"
expect_counts D "$S=6"
assert_eq 0 "$(jq -s --argjson s "$S" '[.[] | select((.type=="tcp_conn" or .type=="tcp_summary") and .pid != $s)] | length' "$TEST_TMP/D.jsonl")" "D (-p $S): records of other processes"
assert_eq bash "$(jq -s -r --argjson p "$BASH" '[.[] | select(.type=="tcp_conn" and .pid==$p and .remote_port==8080)][0].comm' "$TEST_TMP/C.jsonl")" "C: comm of the bash client"

# The server's connections, accepted on a socket that listened before
# nodetap started: theirs, inbound, seen from their start.
eport=$(cat "$TEST_TMP/early.port")
assert_eq 0 "$(jq -s --argjson s "$S" --argjson e "$eport" '[.[] | select(.type=="tcp_conn" and .pid==$s and .remote_port!=$e) |
	select(.direction != "in" or .start_seen != true or .local_port != 8080 or .remote_addr != "127.0.0.1")] | length' "$TEST_TMP/A.jsonl")" \
	"A: server connections that are not inbound from the start"
assert_eq 5 "$(jq -s --argjson s "$S" '[.[] | select(.type=="tcp_conn" and .pid==$s and .start_seen)] | length' "$TEST_TMP/A.jsonl")" \
	"A: server connections seen from their start (all but the early one)"

# The early connection: begun before nodetap, reported at its close with
# direction inferred, no duration, and exact bytes.
e=$(jq -s -c --argjson p "$EARLY" '[.[] | select(.type=="tcp_conn" and .pid==$p)][0]' "$TEST_TMP/A.jsonl")
[ "$(jq -r ".start_seen==false and .direction==\"out\" and .tx_bytes==$N and .rx_bytes==$M and .local_port==$eport and (has(\"duration_ns\") | not) and .end==\"closed\"" <<<"$e")" = true ] ||
	fail "A: the early client's connection: $e"
e=$(jq -s -c --argjson p "$S" --argjson port "$eport" '[.[] | select(.type=="tcp_conn" and .pid==$p and .remote_port==$port)][0]' "$TEST_TMP/A.jsonl")
[ "$(jq -r ".start_seen==false and .direction==\"in\" and .tx_bytes==$M and .rx_bytes==$N" <<<"$e")" = true ] ||
	fail "A: the server's side of the early connection: $e"

# --all: the reset for the closed port, as pid 0, for the remote 127.0.0.1.
assert_ge "$(jq -s '[.[] | select(.type=="tcp_summary" and .pid==0 and .remote_addr=="127.0.0.1") | .rst_sent] | add // 0' "$TEST_TMP/C.jsonl")" 1 \
	"C: resets sent for no socket to 127.0.0.1 (pid 0)"
assert_eq 0 "$(jq -s '[.[] | select(.type=="tcp_summary" and .pid==0)] | length' "$TEST_TMP/A.jsonl")" "A: unattributed records"

# E: -- COMMAND traces COMMAND's tree, node or not, and nothing else: the
# server (node, outside the tree) is not in it.
"$REPO/nodetap" tcp --json -- ip netns exec "$NS" bash -c '
	echo $$ >"$1"
	exec 3<>/dev/tcp/127.0.0.1/8080; printf x >&3; exec 3<&-
	"$2" "$3" client --connect 127.0.0.1:8080 --send '$N' --expect '$M' --out "$4" & wait $!' \
	bash "$TEST_TMP/E.bash.pid" "$NODE" "$peer" "$TEST_TMP/E.node.json" >"$TEST_TMP/E.jsonl" 2>"$TEST_TMP/E.err" ||
	fail "nodetap -- bash exited $?: $(cat "$TEST_TMP/E.err")"
EB=$(cat "$TEST_TMP/E.bash.pid") EN=$(jqv "$TEST_TMP/E.node.json" .pid)
expect_counts E "$EB=1" "$EN=1" "$S=0"
assert_eq 2 "$(jq -s '[.[] | select(.type=="tcp_conn")] | length' "$TEST_TMP/E.jsonl")" "E: connections in all"
assert_eq $N "$(jq -s --argjson p "$EN" '[.[] | select(.type=="tcp_conn" and .pid==$p)][0].tx_bytes' "$TEST_TMP/E.jsonl")" "E: bytes the node client sent"
