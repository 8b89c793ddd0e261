#!/usr/bin/env bash
# One run of `nodetap profile` writes the SVG flame graph, the .cpuprofile
# and the Chrome trace of the 3:1 workload (tests/lib/profile-app.js):
# - the .cpuprofile is consistent: as many samples as timeDeltas, every
#   sample a node, the deltas summing from startTime to the last sample,
#   children and parents linked, hitCounts summing to the samples, both hot
#   functions named with their line;
# - the SVG parses, holds both functions with widths about 3:1, and renders
#   in headless Chromium to a non-trivial picture;
# - the trace has one "P" sample per sample of the .cpuprofile, thread names.
. "$(dirname "$0")/../lib/common.sh"

NT=$REPO/nodetap
NODE=${NODE:-/usr/bin/node}
cd "$TEST_TMP"
rm_perfmap() { local p; p=$(sed -n 's/^pid //p' "$TEST_TMP/app.err" 2>/dev/null | head -1); [ -n "$p" ] && rm -f "/tmp/perf-$p.map"; true; }
on_exit rm_perfmap

timeout 120 "$NT" profile -F 499 --svg "$TEST_TMP/p.svg" --cpuprofile "$TEST_TMP/p.cpuprofile" \
	--trace "$TEST_TMP/p.trace.json" -- "$NODE" --perf-basic-prof "$TESTS_LIB/profile-app.js" 4 \
	>"$TEST_TMP/text" 2>"$TEST_TMP/app.err" || fail "nodetap profile exited $?: $(cat "$TEST_TMP/app.err")"

# .cpuprofile, checked by node itself.
"$NODE" -e '
const p = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const fail = (m) => { console.error("cpuprofile: " + m); process.exit(1); };
const byId = new Map(p.nodes.map((n) => [n.id, n]));
if (byId.size !== p.nodes.length) fail("duplicate node ids");
if (p.samples.length !== p.timeDeltas.length) fail("samples and timeDeltas differ in length");
if (p.samples.length < 200) fail("only " + p.samples.length + " samples");
for (const s of p.samples) if (!byId.has(s)) fail("sample " + s + " is no node");
let t = p.startTime;
for (const d of p.timeDeltas) { if (d < 0) fail("negative delta"); t += d; }
if (t > p.endTime) fail("samples end after endTime");
const parent = new Map();
for (const n of p.nodes) for (const c of n.children) {
	if (!byId.has(c)) fail("child " + c + " of " + n.id + " is no node");
	if (parent.has(c)) fail("node " + c + " has two parents");
	parent.set(c, n.id);
}
const roots = p.nodes.filter((n) => !parent.has(n.id));
if (roots.length !== 1 || roots[0].callFrame.functionName !== "(root)") fail("not one (root)");
const hits = p.nodes.reduce((a, n) => a + n.hitCount, 0);
if (hits !== p.samples.length) fail("hitCounts sum to " + hits + ", samples " + p.samples.length);
const count = new Map();
for (const s of p.samples) count.set(s, (count.get(s) || 0) + 1);
for (const n of p.nodes) if ((count.get(n.id) || 0) !== n.hitCount) fail("hitCount of " + n.id);
const under = (name) => { let s = 0; for (const [id, c] of count) { for (let x = id; x !== undefined; x = parent.get(x)) if (byId.get(x).callFrame.functionName === name) { s += c; break; } } return s; };
const a = under("hotThree"), b = under("hotOne");
const fr = p.nodes.find((n) => n.callFrame.functionName === "hotThree").callFrame;
if (fr.lineNumber !== 2) fail("hotThree line " + fr.lineNumber + " (0-based; 3 in the perf map)");
console.log(a, b, p.samples.length);
' "$TEST_TMP/p.cpuprofile" >"$TEST_TMP/cp" || fail "the .cpuprofile is inconsistent"
read -r a b n <"$TEST_TMP/cp"
log "cpuprofile: hotThree $a, hotOne $b of $n samples"
assert_ge "$b" 50 "samples under hotOne in the .cpuprofile"

# The SVG: well-formed enough for a parser, both functions, widths ~3:1.
"$NODE" -e '
const s = require("fs").readFileSync(process.argv[1], "utf8");
if (!s.startsWith("<?xml") || !s.trimEnd().endsWith("</svg>")) { console.error("not an SVG document"); process.exit(1); }
const open = (s.match(/<g /g) || []).length, close = (s.match(/<\/g>/g) || []).length;
if (open !== close) { console.error("unbalanced <g>: " + open + " " + close); process.exit(1); }
const w = { hotThree: 0, hotOne: 0 };
const re = /<g class="f"[^>]*data-n="([^"]*)"><title>[^<]*<\/title><rect [^>]*width="([0-9.]+)"/g;
let m;
while ((m = re.exec(s))) { const fn = m[1].split(" ")[0]; if (fn in w) w[fn] += parseFloat(m[2]); }
console.log(w.hotThree.toFixed(2), w.hotOne.toFixed(2));
' "$TEST_TMP/p.svg" >"$TEST_TMP/w" || fail "the SVG does not parse"
read -r wa wb <"$TEST_TMP/w"
log "SVG widths: hotThree $wa px, hotOne $wb px"
assert_gt "$wb" 20 "width of hotOne (px of 1180)"
ratio=$(awk -v a="$wa" -v b="$wb" 'BEGIN { printf "%.3f", a / b }')
assert_ge "$ratio" 2.4 "hotThree:hotOne widths in the SVG"
assert_le "$ratio" 3.6 "hotThree:hotOne widths in the SVG"
assert_contains "<title>hotThree" "$(cat "$TEST_TMP/p.svg")" "hover title of hotThree"
assert_contains "function zoom(" "$(cat "$TEST_TMP/p.svg")" "click-to-zoom script"

# Headless Chromium draws it.
timeout 90 chromium --headless --disable-gpu --no-sandbox --user-data-dir="$TEST_TMP/chromium" \
	--screenshot="$TEST_TMP/p.png" --window-size=1200,800 "file://$TEST_TMP/p.svg" \
	>"$TEST_TMP/chromium.log" 2>&1 || fail "chromium exited $?: $(tail -3 "$TEST_TMP/chromium.log")"
assert_file "$TEST_TMP/p.png"
assert_ge "$(stat -c %s "$TEST_TMP/p.png")" 10000 "bytes of the screenshot (a blank one is ~3 KB)"

# The trace: one P event per sample, with names for the threads.
assert_eq "$n" "$(jq '[.traceEvents[] | select(.ph == "P")] | length' "$TEST_TMP/p.trace.json")" "P events in the trace"
assert_ge "$(jq '[.traceEvents[] | select(.ph == "M" and .name == "thread_name")] | length' "$TEST_TMP/p.trace.json")" 1 "thread names"
assert_eq 0 "$(jq '[.traceEvents[] | select(.ph == "P") | .sf as $f | select(.sf == null)] | length' "$TEST_TMP/p.trace.json")" "samples without a stack frame"
assert_eq true "$(jq '[.traceEvents[] | select(.ph == "P") | .sf] - (.stackFrames | keys) | length == 0' "$TEST_TMP/p.trace.json")" "every sample's frame is in stackFrames"
assert_jq "$TEST_TMP/p.trace.json" '.otherData.tool' "nodetap profile" "the trace's writer"
assert_jq "$TEST_TMP/p.trace.json" '.otherData.clock' CLOCK_MONOTONIC "the trace's clock"
