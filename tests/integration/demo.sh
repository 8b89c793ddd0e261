#!/usr/bin/env bash
# timeout: 60
# The README's first command (`make run`) traces examples/app.js: its report
# must show the app's lookups, the failing one as EAI_NONAME (4 of them: the
# app makes one every other round of 8), and name the app's own functions.
. "$(dirname "$0")/../lib/common.sh"

"$REPO/examples/run-demo.sh" >"$TEST_TMP/out" 2>"$TEST_TMP/err" || fail "run-demo.sh exited $?: $(cat "$TEST_TMP/err")"
out=$(cat "$TEST_TMP/out")
assert_match 'metrics-collector\.invalid +4 +4 ' "$out" "the failing name's row (count 4, errors 4)"
assert_contains "errors: EAI_NONAME x4" "$out" "its errors"
assert_match '=> fetchConfig .*examples/app\.js:[0-9]+' "$out" "fetchConfig named as the app's frame"
assert_match '=> reportToMissingCollector .*examples/app\.js:[0-9]+' "$out" "reportToMissingCollector named"
assert_contains "lost since start: nothing" "$out" "losses"
# It cleaned up after itself: no V8 log left in the repository.
assert_eq 0 "$(find "$REPO" -maxdepth 1 -name 'isolate-*-v8.log' | wc -l)" "V8 logs left in the repository"
