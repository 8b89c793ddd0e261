// bench/workload.js KIND SECONDS [RATE]: one node process doing one kind of
// work for SECONDS once it gets SIGUSR2 (so that a tracer can attach to its
// pid first, and two of them can start at the same moment), then printing
// what it did as one JSON line. Prints "ready" when it waits for the signal.
//
//   dns     dns.lookup('localhost') one after the other (an /etc/hosts name:
//           getaddrinfo on libuv's threadpool, no network)
//   churn   short-lived loopback connections to a server in this process,
//           each to 'localhost' by name: a dns.lookup, a connect, 100 bytes
//           each way, close; one after the other
//   paced   dns.lookup('localhost') at RATE a second (a timer every 10 ms
//           starts the lookups due by then; they overlap), the lookups made
//           counted: ground truth for per-event mode. A process that falls
//           behind does not catch up in a burst: at most two ticks' worth
//           a tick, the rest skipped (and not counted as made)
//
// Output: {"kind":K,"ops":N,"lookups":L,"ms":wall,"cpu_ms":user+system}
// (paced adds "skipped": lookups due that a late timer left out)
'use strict';
const dns = require('dns');
const net = require('net');

const [kind, secsArg, rateArg] = process.argv.slice(2);
const secs = Number(secsArg || 3);
if (!['dns', 'churn', 'paced'].includes(kind) || !(secs > 0)) {
	console.error('usage: workload.js dns|churn|paced SECONDS [RATE]');
	process.exit(2);
}
let ops = 0, lookups = 0, skippedTotal = 0, t0, cpu0, stopAt, server;

function finish() {
	const ms = Number(process.hrtime.bigint() - t0) / 1e6;
	const cpu = process.cpuUsage(cpu0);
	const out = { kind, ops, lookups, ms, cpu_ms: (cpu.user + cpu.system) / 1000 };
	if (kind === 'paced') out.skipped = skippedTotal;
	console.log(JSON.stringify(out));
	if (server) server.close();
}

const lookup = (cb) => {
	lookups++;
	dns.lookup('localhost', { family: 4 }, cb);
};

function dnsLoop() {
	if (Date.now() >= stopAt) return finish();
	lookup((err) => {
		if (err) throw err;
		ops++;
		dnsLoop();
	});
}

function churnLoop(port) {
	if (Date.now() >= stopAt) return finish();
	const c = net.connect({ port, host: 'localhost', family: 4 }, () => c.write(Buffer.alloc(100)));
	lookups++;
	c.on('data', () => {});
	c.on('end', () => c.end());
	c.on('error', (e) => { throw e; });
	c.on('close', () => {
		ops++;
		churnLoop(port);
	});
}

function paced(rate) {
	const start = Date.now();
	let pending = 0, stopped = false;
	const perTick = Math.max(1, Math.ceil(rate / 100));
	const timer = setInterval(() => {
		const now = Date.now();
		const due = Math.min(Math.floor(((now - start) / 1000) * rate), Math.floor(secs * rate));
		if (due - lookups - skippedTotal > 2 * perTick) skippedTotal = due - lookups - 2 * perTick;
		while (lookups + skippedTotal < due) {
			pending++;
			lookup((err) => {
				if (err) throw err;
				ops++;
				if (--pending === 0 && stopped) finish();
			});
		}
		if (now >= stopAt) {
			stopped = true;
			clearInterval(timer);
			if (pending === 0) finish();
		}
	}, 10);
}

function go() {
	t0 = process.hrtime.bigint();
	cpu0 = process.cpuUsage();
	stopAt = Date.now() + secs * 1000;
	if (kind === 'dns') dnsLoop();
	else if (kind === 'churn') churnLoop(server.address().port);
	else paced(Number(rateArg || 100));
}

function ready() {
	process.once('SIGUSR2', go);
	console.log('ready');
}

if (kind === 'churn') {
	server = net.createServer((s) => {
		s.on('data', () => s.end(Buffer.alloc(100)));
		s.on('error', () => {});
	});
	server.listen(0, '127.0.0.1', ready);
} else {
	ready();
	// Keeps the process alive while it waits for the signal.
	const keep = setInterval(() => {}, 1000);
	process.once('SIGUSR2', () => clearInterval(keep));
}
