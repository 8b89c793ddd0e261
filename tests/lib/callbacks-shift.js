'use strict';
// callbacks-shift.js: timer callbacks of known durations, for the callbacks
// heat map tests. N timers, one after the other (each armed by the one
// before, GAP ms later), whose callbacks busy-wait FAST ms in spinInTimer();
// then N more that busy-wait SLOW ms. The moment of the switch and every
// callback's own start and end (process.hrtime, CLOCK_MONOTONIC as nodetap's)
// go to --out as JSON, written synchronously inside the last callback.
//
//   node callbacks-shift.js --count N [--fast-ms 5] [--slow-ms 50] [--gap-ms 40]
//        --out FILE
// Writes nothing on stdout or stderr.
const fs = require('fs');

const opts = { count: 20, fast: 5, slow: 50, gap: 40, out: null };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
	const v = argv[i + 1];
	switch (argv[i]) {
	case '--count': opts.count = +v; break;
	case '--fast-ms': opts.fast = +v; break;
	case '--slow-ms': opts.slow = +v; break;
	case '--gap-ms': opts.gap = +v; break;
	case '--out': opts.out = v; break;
	default: throw new Error(`unknown argument ${argv[i]}`);
	}
}
if (!opts.out) throw new Error('--out FILE is required');

const callbacks = [];
let switchNs = null;

function spinInTimer(ms) {
	const until = process.hrtime.bigint() + BigInt(Math.round(ms * 1e6));
	let n = 0;
	while (process.hrtime.bigint() < until) n++;
	return n;
}

function onShiftTimer(i) {
	const ms = i < opts.count ? opts.fast : opts.slow;
	const start = process.hrtime.bigint();
	if (i === opts.count) switchNs = start;
	spinInTimer(ms);
	const end = process.hrtime.bigint();
	callbacks.push({ i, target_ms: ms, start_ns: String(start), end_ns: String(end),
		ms: Number(end - start) / 1e6 });
	if (i + 1 < 2 * opts.count) {
		setTimeout(onShiftTimer, opts.gap, i + 1);
		return;
	}
	fs.writeFileSync(opts.out, JSON.stringify({ pid: process.pid, count: opts.count,
		fast_ms: opts.fast, slow_ms: opts.slow, switch_ns: String(switchNs), callbacks }));
}

setTimeout(onShiftTimer, opts.gap, 0);
