#!/usr/bin/env bash
# timeout: 400
# fuzz_short: a bounded fuzz run of every parser of data the traced side
# controls (tests/fuzz/fuzz_*.c, docs/reliability.md). Builds the libFuzzer
# harnesses (make fuzz: clang, ASan+UBSan), then runs each for
# NODETAP_FUZZ_SECONDS (default 20) from its checked-in seed corpus, two at a
# time (NODETAP_FUZZ_JOBS). Fails on any crash, sanitizer report, leak,
# broken property (the harnesses check properties, not only "no crash"), or
# unit slower than 10 s. Prints per harness: runs, execs/s, coverage and
# features at start and end, corpus size at start and end. What a failing
# harness found is kept in build/fuzz/findings/ with the command that
# replays it. New inputs go to a scratch corpus: the checked-in one is only
# read.
. "$(dirname "$0")/../lib/common.sh"

SECS=${NODETAP_FUZZ_SECONDS:-20}
JOBS=${NODETAP_FUZZ_JOBS:-2}
FINDINGS=$REPO/build/fuzz/findings
cd "$REPO"

# Per-harness input size limits: room for the seeds (ELF files of 14 KB, a
# perf map with a 5000-byte line) and not much more.
max_len() {
	case $1 in
	elfsym) echo 32768 ;;
	perfmap | procmaps) echo 16384 ;;
	kallsyms | monconf) echo 8192 ;;
	uvlocate) echo 2048 ;;
	textparse) echo 64 ;;
	*) echo 4096 ;;
	esac
}

start=$(now_ms)
if ! make -s fuzz >"$TEST_TMP/make.log" 2>&1; then
	tail -n 30 "$TEST_TMP/make.log" >&2
	fail "make fuzz failed (clang with libFuzzer: Debian packages clang and libclang-rt-dev)"
fi
build_s=$((($(now_ms) - start + 500) / 1000))

names=()
for f in tests/fuzz/fuzz_*.c; do
	n=${f#tests/fuzz/fuzz_}
	names+=("${n%.c}")
done
[ ${#names[@]} -gt 0 ] || fail "no harness in tests/fuzz"
seeds_before=$(cd tests/fuzz/corpus && find . -type f -exec md5sum {} + | sort)

# run_one NAME: one bounded run; its log in $TEST_TMP/NAME.log, exit status
# in $TEST_TMP/NAME.rc.
run_one() {
	local n=$1 rc=0
	[ -d "tests/fuzz/corpus/$n" ] || { echo "no seed corpus tests/fuzz/corpus/$n" >"$TEST_TMP/$n.log"; echo 1 >"$TEST_TMP/$n.rc"; return; }
	mkdir -p "$TEST_TMP/corpus/$n" "$TEST_TMP/artifacts/$n"
	TMPDIR=$TEST_TMP "build/fuzz/fuzz_$n" -max_total_time="$SECS" -print_final_stats=1 \
		-timeout=10 -rss_limit_mb=2048 -max_len="$(max_len "$n")" -entropic_scale_per_exec_time=1 \
		-artifact_prefix="$TEST_TMP/artifacts/$n/" \
		"$TEST_TMP/corpus/$n" "tests/fuzz/corpus/$n" >"$TEST_TMP/$n.log" 2>&1 || rc=$?
	echo $rc >"$TEST_TMP/$n.rc"
}

# Two at a time (the suite's machines have 2 cores): wait for the oldest.
pids=()
for n in "${names[@]}"; do
	if [ ${#pids[@]} -ge "$JOBS" ]; then
		wait "${pids[0]}" || true
		pids=("${pids[@]:1}")
	fi
	run_one "$n" &
	pids+=($!)
	on_exit kill_wait "$!"
done
for p in "${pids[@]}"; do wait "$p" || true; done

failed=()
total_runs=0
printf '%-10s %6s %10s %8s %15s %15s %17s\n' harness secs runs execs/s "cov start>end" "ft start>end" "corpus start>end"
for n in "${names[@]}"; do
	log=$TEST_TMP/$n.log
	rc=$(cat "$TEST_TMP/$n.rc" 2>/dev/null || echo 1)
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	# "#N INITED cov: C ft: F corp: U/SIZE ..." after the seeds, "DONE" at
	# the end; a harness that crashed has neither.
	init=$(sed -n '/^#[0-9]*[[:space:]]*INITED/p' "$log" | tail -n 1)
	done_=$(sed -n '/^#[0-9]*[[:space:]]*DONE/p' "$log" | tail -n 1)
	field() { sed -n "s/.* $1: \([0-9]*\).*/\1/p" <<<"$2"; }
	corp() { sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$1"; }
	printf '%-10s %6s %10s %8s %15s %15s %17s\n' "$n" "$SECS" "${runs:-?}" "${eps:-?}" \
		"$(field cov "$init")>$(field cov "$done_")" "$(field ft "$init")>$(field ft "$done_")" \
		"$(corp "$init")>$(corp "$done_")"
	total_runs=$((total_runs + ${runs:-0}))
	if [ "$rc" != 0 ] || [ -z "$done_" ] ||
		grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|FUZZ PROPERTY FAILED|SUMMARY:' "$log"; then
		failed+=("$n")
	fi
done
echo "fuzz_short: ${#names[@]} harnesses, ${SECS}s each, $JOBS at a time; $total_runs runs; build ${build_s}s, total $((($(now_ms) - start + 500) / 1000))s"

seeds_after=$(cd tests/fuzz/corpus && find . -type f -exec md5sum {} + | sort)
[ "$seeds_before" = "$seeds_after" ] || fail "the run changed the checked-in corpus tests/fuzz/corpus"

if [ ${#failed[@]} -gt 0 ]; then
	for n in "${failed[@]}"; do
		echo "---- fuzz_$n failed (exit $(cat "$TEST_TMP/$n.rc")); end of its log:"
		grep -vE '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)' "$TEST_TMP/$n.log" | tail -n 40
		mkdir -p "$FINDINGS"
		for a in "$TEST_TMP/artifacts/$n"/*; do
			[ -e "$a" ] || continue
			cp "$a" "$FINDINGS/$n-${a##*/}"
			echo "input kept: build/fuzz/findings/$n-${a##*/}"
			echo "replay: build/fuzz/fuzz_$n build/fuzz/findings/$n-${a##*/}"
		done
	done
	fail "fuzzing found problems in: ${failed[*]}"
fi
