// loop-app.js: ground truth for `nodetap loop`. Blocks its event loop a known
// number of times for a known time, in a function with a known name, or
// does nothing in known ways.
//
//   node loop-app.js MODE [--count N] [--block-ms MS] [--gap-ms MS]
//                         [--seconds S] [--go FILE] [--out FILE]
//
// MODE:
//   block   N times: a timer callback busy-waits MS in busyWaitForNodetap(),
//           GAP ms apart (default 1 x 200 ms, 300 ms apart); MS may be a
//           comma list, used in turn ("150,50": long, short, long, ...)
//   worker  the same, in a worker_threads Worker; the main loop stays idle
//   idle    a timer every INTERVAL ms (--interval-ms, default 20) that does
//           nothing, for S seconds (default 3)
//   epoll   nothing at all for S seconds: one timer, the loop asleep in
//           epoll_wait the whole time
//   shift   for S seconds, a timer every INTERVAL ms that busy-waits
//           --small-ms (default 3): short iterations; then as block
//
// With --go FILE it starts only once FILE exists (at most 20 s), so that a
// tracer can attach first (in worker mode, the worker starts at once and
// waits to block); it creates FILE.ready once its event loop runs (node's
// start-up is over: the loop's first iteration is long). With --out FILE it writes, at the end,
// {"pid":P,"blocks_ms":[measured durations],"block_starts_ns":[when each
// began],"shift_ns":T} (times of process.hrtime: CLOCK_MONOTONIC; shift_ns:
// when shift mode's short iterations ended). Exits 0.
'use strict';
const fs = require('fs');
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');

// Blocks N times; calls done(durations) at the end. The timer callback is
// the function with the known name itself, so that V8 cannot inline it
// away into a caller (it is called from node's timer list).
const blockStarts = [];   // process.hrtime of each block's start
let shiftNs = null;

function blockRepeatedly(opts, done) {
	const durations = [];
	let left = opts.count;
	function busyWaitForNodetap() {
		const ms = opts.blockMs[durations.length % opts.blockMs.length];
		const t0 = process.hrtime.bigint();
		blockStarts.push(String(t0));
		// Date.now() is V8's own (C++): the wait calls no other JavaScript
		// function (process.hrtime is a getter, .bigint a JS function),
		// so every sample of it has this function as its innermost JS.
		const end = Date.now() + ms;
		while (Date.now() < end)
			;
		durations.push(Number(process.hrtime.bigint() - t0) / 1e6);
		if (--left > 0)
			setTimeout(busyWaitForNodetap, opts.gapMs);
		else
			setTimeout(() => done(durations), opts.gapMs);
	}
	setTimeout(busyWaitForNodetap, opts.gapMs);
}

// Runs FN once GO exists (at most 20 s), or at once without GO.
function whenGo(go, fn) {
	if (!go)
		return fn();
	setImmediate(() => fs.writeFileSync(go + (isMainThread ? '.ready' : '.worker-ready'), ''));
	let waited = 0;
	const poll = setInterval(() => {
		waited += 20;
		if (fs.existsSync(go) || waited > 20000) {
			clearInterval(poll);
			fn();
		}
	}, 20);
}

if (!isMainThread) {
	whenGo(workerData.go, () => blockRepeatedly(workerData, (d) => parentPort.postMessage(d)));
	return;
}

const args = process.argv.slice(2);
const mode = args[0];
const opt = (name, dflt) => {
	const i = args.indexOf(name);
	return i >= 0 ? args[i + 1] : dflt;
};
const opts = {
	count: Number(opt('--count', 1)),
	blockMs: String(opt('--block-ms', 200)).split(',').map(Number),
	gapMs: Number(opt('--gap-ms', 300)),
	seconds: Number(opt('--seconds', 3)),
	intervalMs: Number(opt('--interval-ms', 20)),
	smallMs: Number(opt('--small-ms', 3)),
};
const go = opt('--go');
const out = opt('--out');

function finish(blocks) {
	if (out)
		fs.writeFileSync(out, JSON.stringify({ pid: process.pid, blocks_ms: blocks,
			block_starts_ns: blockStarts, shift_ns: shiftNs }) + '\n');
	process.exit(0);
}

function start() {
	switch (mode) {
	case 'block':
		blockRepeatedly(opts, finish);
		break;
	case 'worker':
		break; // started below, at once: it waits for GO itself
	case 'idle': {
		const t = setInterval(() => {}, opts.intervalMs);
		setTimeout(() => { clearInterval(t); finish([]); }, opts.seconds * 1000);
		break;
	}
	case 'shift': {
		const t = setInterval(() => {
			const end = Date.now() + opts.smallMs;
			while (Date.now() < end)
				;
		}, opts.intervalMs);
		setTimeout(() => {
			clearInterval(t);
			shiftNs = String(process.hrtime.bigint());
			blockRepeatedly(opts, finish);
		}, opts.seconds * 1000);
		break;
	}
	case 'epoll':
		setTimeout(() => finish([]), opts.seconds * 1000);
		break;
	default:
		console.error(`loop-app: unknown mode '${mode}'`);
		process.exit(2);
	}
}

if (mode === 'worker') {
	// The worker starts now, so that a tracer can find its loop; it blocks
	// once GO exists. The main loop sleeps until the worker reports.
	const w = new Worker(__filename, { workerData: { ...opts, go } });
	w.on('message', finish);
	if (go)
		setImmediate(() => fs.writeFileSync(go + '.ready', ''));
} else {
	whenGo(go, start);
}
