'use strict';
// callbacks-workload.js: a node process whose callbacks into JavaScript are
// known in advance, for `nodetap callbacks` tests and bench/.
//
//   node callbacks-workload.js [--stat N] [--timers M] [--immediates I]
//        [--slow-ms X] [--hot SECONDS] [--accept K --port-file FILE] [--out FILE]
//        [--start-after-ms MS]
//
// Phases, one after the other, each started from the previous one's last
// callback (never two at once, so that every callback is one of its phase):
//   --stat N        N fs.stat() calls in sequence: N FSREQCALLBACK callbacks
//   --timers M      M setTimeout(2 ms) in sequence: M runs of the timers list
//   --immediates I  I setImmediate() in sequence: I runs of the immediate queue
//                   (the summary has their time and CPU time, as for --hot)
//   --slow-ms X     one timer whose callback busy-waits X ms in
//                   busyWaitInCallback()
//   --hot SECONDS   TCP ping-pong over loopback inside this process for that
//                   long: many callbacks a second (TCPWRAP reads, two a round
//                   trip); the summary has the round trips, their time and
//                   the CPU time the process used meanwhile (user + system)
//   --accept K      listen on 127.0.0.1 (port written to --port-file), accept K
//                   connections that the peer opens and closes without sending
//                   anything, then close the server
// --linger-ms keeps the process alive that long after the last phase (one
// timer), for a test to look at the tracer's state. --hooks counts, with async_hooks, the callbacks node announces per resource
// type (the `before` hook: node's own account of each callback it makes into
// JavaScript), into the summary's "hooks". --start-after-ms waits that long (one timer) before the first phase, for a
// tracer to attach to the pid. Writes nothing on stdout or stderr (pipes would make callbacks of their
// own); --out gets a JSON summary at the end, written synchronously.
const fs = require('fs');
const net = require('net');

const opts = { stat: 0, timers: 0, immediates: 0, slowMs: 0, hot: 0, accept: 0, startAfter: 0,
	hooks: false, linger: 0 };
let portFile = null;
let outFile = null;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
	const a = argv[i], v = argv[i + 1];
	switch (a) {
	case '--stat': opts.stat = +v; i++; break;
	case '--timers': opts.timers = +v; i++; break;
	case '--immediates': opts.immediates = +v; i++; break;
	case '--slow-ms': opts.slowMs = +v; i++; break;
	case '--hot': opts.hot = +v; i++; break;
	case '--accept': opts.accept = +v; i++; break;
	case '--port-file': portFile = v; i++; break;
	case '--out': outFile = v; i++; break;
	case '--start-after-ms': opts.startAfter = +v; i++; break;
	case '--hooks': opts.hooks = true; break;
	case '--linger-ms': opts.linger = +v; i++; break;
	default: throw new Error(`unknown argument ${a}`);
	}
}

const done = { pid: process.pid, stat: 0, timers: 0, immediates: 0, slow: 0, hot_round_trips: 0,
	hot_ns: 0, hot_cpu_ns: 0, immediates_ns: 0, immediates_cpu_ns: 0, accepted: 0 };

if (opts.hooks) {
	const async_hooks = require('async_hooks');
	const types = new Map();
	done.hooks = {};
	async_hooks.createHook({
		init(id, type) { types.set(id, type); },
		before(id) {
			const t = types.get(id) || 'unknown';
			done.hooks[t] = (done.hooks[t] || 0) + 1;
		},
	}).enable();
}

function stats(next) {
	let i = 0;
	const one = () => {
		if (i === opts.stat) return next();
		fs.stat(__filename, (err) => {
			if (err) throw err;
			i++;
			done.stat++;
			one();
		});
	};
	one();
}

function timers(next) {
	let i = 0;
	const one = () => {
		if (i === opts.timers) return next();
		setTimeout(() => {
			i++;
			done.timers++;
			one();
		}, 2);
	};
	one();
}

function immediates(next) {
	const t0 = process.hrtime.bigint();
	const cpu0 = process.cpuUsage();
	let i = 0;
	const one = () => {
		if (i === opts.immediates) {
			const cpu = process.cpuUsage(cpu0);

			done.immediates_ns = Number(process.hrtime.bigint() - t0);
			done.immediates_cpu_ns = (cpu.user + cpu.system) * 1000;
			return next();
		}
		setImmediate(() => {
			i++;
			done.immediates++;
			one();
		});
	};
	one();
}

function busyWaitInCallback(ms) {
	const end = Date.now() + ms;
	let x = 0;
	while (Date.now() < end)
		x += Math.sqrt(x + 1);
	return x;
}

function slow(next) {
	if (!opts.slowMs) return next();
	setTimeout(() => {
		busyWaitInCallback(opts.slowMs);
		done.slow++;
		next();
	}, 2);
}

function hot(next) {
	if (!opts.hot) return next();
	const end = Date.now() + opts.hot * 1000;
	const t0 = process.hrtime.bigint();
	const cpu0 = process.cpuUsage();
	const srv = net.createServer((s) => s.on('data', (d) => s.write(d)));
	srv.listen(0, '127.0.0.1', () => {
		const c = net.connect(srv.address().port, '127.0.0.1', () => c.write('x'));
		c.on('data', () => {
			done.hot_round_trips++;
			if (Date.now() < end) {
				c.write('x');
				return;
			}
			done.hot_ns = Number(process.hrtime.bigint() - t0);
			const cpu = process.cpuUsage(cpu0);
			done.hot_cpu_ns = (cpu.user + cpu.system) * 1000;
			c.destroy();
			srv.close(next);
		});
	});
}

function accept(next) {
	if (!opts.accept) return next();
	let closed = 0;
	const srv = net.createServer((s) => {
		done.accepted++;
		s.on('close', () => {
			if (++closed === opts.accept) srv.close();
		});
		s.resume();
	});
	srv.on('close', next);
	srv.listen(0, '127.0.0.1', () => {
		if (portFile) fs.writeFileSync(portFile, String(srv.address().port));
	});
}

const run = () => stats(() => timers(() => immediates(() => slow(() => hot(() => accept(() => {
	if (outFile) fs.writeFileSync(outFile, JSON.stringify(done));
	if (opts.linger) setTimeout(() => {}, opts.linger);
}))))));
if (opts.startAfter)
	setTimeout(run, opts.startAfter);
else
	run();
