// bench/offcpu_cost.sh's workload: a node main thread and a worker hand a
// token back and forth through Atomics.wait / Atomics.notify, ROUNDS times:
// every hand-over blocks one thread in a futex and wakes the other, two
// context switches of traced threads per round. Starts after DELAY ms (for
// nodetap to attach), prints the milliseconds the rounds took. The waits
// time out after 50 ms and look again: under CPU load a wake-up was seen to
// get lost (untraced too), which would hang the round for good.
'use strict';
const { Worker, isMainThread, workerData } = require('worker_threads');

if (isMainThread) {
	const rounds = +process.argv[2] || 100000, delay = +process.argv[3] || 1500;
	const cell = new Int32Array(new SharedArrayBuffer(4));
	const w = new Worker(__filename, { workerData: { cell, rounds } });
	setTimeout(() => {
		const t0 = process.hrtime.bigint();
		for (let i = 0; i < rounds; i++) {
			Atomics.store(cell, 0, 1);
			Atomics.notify(cell, 0);
			while (Atomics.load(cell, 0) === 1)
				Atomics.wait(cell, 0, 1, 50);   // until the worker sets 0
		}
		console.log((Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1));
		w.terminate();
	}, delay);
} else {
	const { cell, rounds } = workerData;
	for (let i = 0; i < rounds; i++) {
		while (Atomics.load(cell, 0) === 0)
			Atomics.wait(cell, 0, 0, 50);    // until the main thread sets 1
		Atomics.store(cell, 0, 0);
		Atomics.notify(cell, 0);
	}
}
