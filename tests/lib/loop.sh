# loop.sh: helpers for the `nodetap loop` tests; source it after common.sh.
#
#   loop_app OUT MODE [ARGS...]   start tests/lib/loop-app.js under $NODE (nice
#                                 -15), with V8's perf map (JS frames named), held until
#                                 loop_go; returns once its event loop runs
#                                 (node's start-up, a long first iteration, is
#                                 over); sets APP_PID; its ground truth goes to
#                                 OUT when it ends
#   loop_go                       let every app started so far begin
#   loop_trace OUT ARGS...        `nodetap loop --json ARGS` in the background,
#                                 JSON lines to OUT; sets NT_PID
#   loop_found OUT PID [KIND]     true once OUT has a "loop" record: found, for
#                                 PID (and KIND: main or worker)
#   loop_stop                     SIGINT to nodetap: final report, exit 0

LOOP_APP=$TESTS_LIB/loop-app.js
LOOP_GOS=()   # the go files of the apps started since the last loop_go

loop_app() {
	local out=$1 go=$TEST_TMP/go.${#LOOP_GOS[@]}.$RANDOM
	shift
	LOOP_GOS+=("$go")
	# At a high priority: what the app measures (a busy wait of wall time)
	# and what an on-CPU sampler sees agree only while the app gets the CPU,
	# and the test suite shares this machine with other work.
	bg nice -n -15 "$NODE" --perf-basic-prof --interpreted-frames-native-stack --always-sparkplug "$LOOP_APP" "$@" \
		--go "$go" --out "$out"
	APP_PID=$BG_PID
	# V8 never removes its perf map.
	on_exit rm -f "/tmp/perf-$APP_PID.map"
	wait_for 20 "loop-app's event loop running" test -e "$go.ready"
}

loop_go() {
	local go
	for go in "${LOOP_GOS[@]}"; do
		touch "$go"
	done
	LOOP_GOS=()
}

loop_trace() {
	local out=$1
	shift
	"$REPO/nodetap" loop --json "$@" >"$out" 2>"$TEST_TMP/nodetap.stderr" &
	NT_PID=$!
	on_exit kill_wait "$NT_PID"
}

loop_found() {
	local out=$1 pid=$2 kind=${3:-}
	jq -s -e --argjson p "$pid" --arg k "$kind" \
		'any(.[]; .type=="loop" and .found and .pid==$p and ($k=="" or .kind==$k))' "$out" >/dev/null
}

loop_stop() {
	kill -INT "$NT_PID"
	wait "$NT_PID" || fail "nodetap loop exited $?: $(cat "$TEST_TMP/nodetap.stderr")"
}
