// A busy JavaScript function between two known moments, for trace_cpu:
// spinHere burns CPU in short calls (a few ms each, so that V8 compiles it
// normally and its frame is in the perf map) from T0 to T1, then the app
// writes {"pid", "t0", "t1"} (process.hrtime: CLOCK_MONOTONIC nanoseconds,
// nodetap's clock) to the file it is given.
//
// Usage: node --perf-basic-prof trace-cpu-app.js OUT.json [MS]
'use strict';

const fs = require('fs');
const out = process.argv[2];
const ms = Number(process.argv[3] || 1500);

function spinHere(n) {
	let x = 0;
	for (let i = 0; i < n; i++)
		x = (x * 31 + i) % 1000003;
	return x;
}

const t0 = process.hrtime.bigint();
const end = t0 + BigInt(ms) * 1000000n;
let sink = 0, calls = 0;
while (process.hrtime.bigint() < end) {
	sink += spinHere(200000);
	calls++;
}
const t1 = process.hrtime.bigint();
fs.writeFileSync(out, JSON.stringify({ pid: process.pid, t0: String(t0), t1: String(t1), calls, sink }));
