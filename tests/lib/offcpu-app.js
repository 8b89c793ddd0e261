// The workload of tests/integration/profile_offcpu.sh: a thread that is
// slow but not busy, with known blocked time in known functions, and one
// CPU-bound function for contrast. Usage: node offcpu-app.js [WAITS SPAWNS]
// (default 5 5).
// waitSyncForNodetap blocks the main thread in a futex (Atomics.wait on a
// SharedArrayBuffer nobody signals) for 200 ms each time; readSlowForNodetap
// blocks it in a synchronous child process (`sleep 0.1`). Each measures its
// own wall time; busyForNodetap spins on integers (no allocation: no GC
// helper threads to wait for). Each blocking function measures the time it
// was blocked as its wall time less the CPU time the process used meanwhile
// (starting a child takes CPU time, on a loaded machine a lot of it, which
// is not time blocked). Prints the measured milliseconds to stderr.
'use strict';
const { execSync } = require('child_process');
// Run directly or through require() after a wrapper's own arguments: the
// last two numbers on the command line.
const nums = process.argv.slice(2).filter((a) => /^[0-9]+$/.test(a));
const waits = nums.length >= 2 ? +nums[nums.length - 2] : 5;
const spawns = nums.length >= 2 ? +nums[nums.length - 1] : 5;
const cell = new Int32Array(new SharedArrayBuffer(4));

// Milliseconds FN took, less the CPU milliseconds the process used.
function blockedMs(fn) {
	const c0 = process.cpuUsage(), t0 = process.hrtime.bigint();
	fn();
	const c = process.cpuUsage(c0);
	return Number(process.hrtime.bigint() - t0) / 1e6 - (c.user + c.system) / 1000;
}

function waitSyncForNodetap() {
	Atomics.wait(cell, 0, 0, 200);   // times out: nobody wakes it
}

function readSlowForNodetap() {
	execSync('sleep 0.1');
}

function busyForNodetap() {
	const t0 = process.hrtime.bigint();
	let a = 1;
	for (let i = 0; i < 3e7; i++)
		a = (a * 31 + i) % 1000003;
	return [Number(process.hrtime.bigint() - t0) / 1e6, a];
}

let waitMs = 0, spawnMs = 0, busyMs = 0;
for (let i = 0; i < Math.max(waits, spawns); i++) {
	if (i < waits)
		waitMs += blockedMs(waitSyncForNodetap);
	if (i < spawns)
		spawnMs += blockedMs(readSlowForNodetap);
	busyMs += busyForNodetap()[0];
}
process.stderr.write(`measured wait ${waitMs.toFixed(1)} spawn ${spawnMs.toFixed(1)} busy ${busyMs.toFixed(1)}\n`);
