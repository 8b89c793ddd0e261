#!/usr/bin/env bash
# Hostnames are chosen by the traced process: ANSI escapes, newlines, invalid
# UTF-8 and names over 255 bytes must reach neither the terminal nor JSON raw.
# The over-long name, which uv_getaddrinfo refuses before any lookup (EINVAL),
# is still counted, flagged as cut, and reported as an error.
. "$(dirname "$0")/../lib/common.sh"

cat >"$TEST_TMP/evil.js" <<'JS'
const dns = require('dns');
const names = ['evil\x1b[2J\x1b[31mred.invalid', 'new\nline.invalid', 'a'.repeat(300) + '.invalid'];
let left = names.length;
for (const n of names) dns.lookup(n, { family: 4 }, () => { if (--left === 0) console.error('done'); });
JS
"$REPO/nodetap" dns --events -- "$NODE" "$TEST_TMP/evil.js" >"$TEST_TMP/text" 2>"$TEST_TMP/stderr" ||
	fail "nodetap exited $?: $(cat "$TEST_TMP/stderr")"
# No ESC byte, and no line that starts inside a hostname.
assert_eq 0 "$(tr -cd '\033' <"$TEST_TMP/text" | wc -c)" "ESC bytes in the text output"
# node lowercases the name before libuv sees it.
assert_contains 'evil\x1b[2j\x1b[31mred.invalid' "$(cat "$TEST_TMP/text")" "escaped ANSI name"
assert_contains 'new\x0aline.invalid' "$(cat "$TEST_TMP/text")" "escaped newline"
assert_eq 0 "$(grep -c '^line.invalid' "$TEST_TMP/text" || true)" "lines broken by a hostname"

"$REPO/nodetap" dns --events --json -- "$NODE" "$TEST_TMP/evil.js" >"$TEST_TMP/json" 2>"$TEST_TMP/stderr" ||
	fail "nodetap --json exited $?: $(cat "$TEST_TMP/stderr")"
jq -e . "$TEST_TMP/json" >/dev/null || fail "output is not valid JSON lines: $(cat "$TEST_TMP/json")"
assert_eq 0 "$(tr -cd '\033' <"$TEST_TMP/json" | wc -c)" "ESC bytes in the JSON output"
assert_eq 1 "$(jq -s '[.[] | select(.type=="dns_lookup" and .host=="evil\\x1b[2j\\x1b[31mred.invalid")] | length' "$TEST_TMP/json")" "escaped ANSI name in JSON"
long=$(jq -c 'select(.type=="dns_lookup" and .host_truncated)' "$TEST_TMP/json")
assert_ne "" "$long" "the over-long name's event"
assert_eq 255 "$(jq -r '.host | length' <<<"$long")" "length of the cut name"
assert_eq EINVAL "$(jq -r .status_name <<<"$long")" "status of the over-long name"
assert_jq "$TEST_TMP/json" 'select(.type=="losses") | .truncated_strings' 1 "truncated strings reported"
assert_eq 3 "$(jq -s '[.[] | select(.type=="dns_summary") | .count] | add' "$TEST_TMP/json")" "lookups counted"
