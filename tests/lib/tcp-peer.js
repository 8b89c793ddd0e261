// tcp-peer.js: both ends of TCP connections whose bytes, segments and
// resets a test knows exactly, for the `nodetap tcp` tests.
//
//   node tcp-peer.js server --listen HOST:PORT [--mode M] [--reply N]
//        [--unread-ms MS] [--ready FILE] [--title T] [--life-ms MS]
//     Serves until SIGTERM (or --life-ms, default 60000, as a safety net).
//     --mode reply (default): read until the client's FIN, then send --reply
//       bytes (default 0) and end.
//     --mode echo: send back every chunk; end when the client ends.
//     --mode hold: read and discard; end when the client ends.
//     --mode unread: accept without ever reading (pauseOnConnect) and
//       destroy the socket --unread-ms after the connection (default 300):
//       a close with unread data, so the kernel sends a reset.
//     --ready FILE: written ("PID PORT") once listening.
//
//   node tcp-peer.js client --connect HOST:PORT [--conns K] [--mode M]
//        [--send N] [--expect M] [--rounds W --size S] [--hold-ms MS]
//        [--pause-ms MS] [--out FILE] [--title T] [--wait-file F]
//     K connections (default 1), one after the other (--pause-ms between):
//     --mode bytes (default): send N bytes, end (half-close), read until the
//       server's FIN; fails unless exactly M bytes (--expect) came back.
//       With --go-file G: once connected, write the local port to
//       --connected-file (if given) and wait (at most 30 s) for G to exist
//       before sending: a connection that is open before a tracer starts.
//     --mode pingpong: TCP_NODELAY; W rounds of S bytes sent, each waiting
//       for its S-byte echo before the next, so that each round is one
//       segment each way; then end.
//     --mode refused: connect to a closed port; fails unless ECONNREFUSED.
//     --mode unread: send N bytes, then wait for the server's reset;
//       fails unless ECONNRESET.
//     --mode reset: connect, wait --hold-ms (default 100), then
//       socket.resetAndDestroy(): a reset sent by the client.
//     --out FILE: {"pid":P,"conns":[{"lport":L,"rport":R,"sent":N,
//       "received":M,"error":E|null,"ms":T}]} written at the end.
//     --wait-file F: wait (at most 30 s) until F exists before starting.
//
// --title T sets process.title (which is also the kernel's comm: tests of
// escaping). Exit status 0 when every connection went as its mode says.
'use strict';
const fs = require('fs');
const net = require('net');

const args = process.argv.slice(2);
const role = args.shift();
const opt = {};
while (args.length) {
	const k = args.shift();
	if (!k.startsWith('--') || !args.length) {
		console.error(`tcp-peer: bad argument ${k}`);
		process.exit(2);
	}
	opt[k.slice(2)] = args.shift();
}
const num = (k, d) => (opt[k] === undefined ? d : Number(opt[k]));
function hostPort(s) {
	const i = s.lastIndexOf(':');
	return { host: s.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(s.slice(i + 1)) };
}
if (opt.title !== undefined) process.title = opt.title;
const die = (msg) => { console.error(`tcp-peer ${role}: ${msg}`); process.exit(1); };

function server() {
	const { host, port } = hostPort(opt.listen);
	const mode = opt.mode || 'reply';
	const reply = num('reply', 0);
	const srv = net.createServer({ pauseOnConnect: mode === 'unread' }, (s) => {
		s.on('error', () => {});
		if (mode === 'unread') {
			setTimeout(() => s.destroy(), num('unread-ms', 300));
			return;
		}
		if (mode === 'echo') {
			s.on('data', (d) => s.write(d));
			s.on('end', () => s.end());
			return;
		}
		s.on('data', () => {});
		s.on('end', () => {
			if (mode === 'reply' && reply) s.write(Buffer.alloc(reply, 0x61));
			s.end();
		});
	});
	srv.on('error', (e) => die(e.message));
	srv.listen(port, host, () => {
		if (opt.ready) fs.writeFileSync(opt.ready, `${process.pid} ${srv.address().port}\n`);
	});
	process.on('SIGTERM', () => process.exit(0));
	setTimeout(() => process.exit(0), num('life-ms', 60000)).unref();
	setInterval(() => {}, 1 << 30); // stay alive until told
}

function once(mode) {
	return new Promise((resolve) => {
		const { host, port } = hostPort(opt.connect);
		const t0 = process.hrtime.bigint();
		const r = { lport: null, rport: port, sent: 0, received: 0, error: null, ms: 0 };
		const s = net.connect({ host, port });
		let expectEcho = 0;
		let rounds = 0;
		const done = () => {
			r.ms = Number(process.hrtime.bigint() - t0) / 1e6;
			resolve(r);
		};
		s.on('error', (e) => { r.error = e.code || e.message; });
		s.on('close', done);
		s.on('connect', () => {
			r.lport = s.localPort;
			if (mode === 'bytes') {
				const send = () => {
					const n = num('send', 0);
					if (n) s.write(Buffer.alloc(n, 0x62));
					r.sent = n;
					s.end();
				};
				if (opt['go-file']) {
					if (opt['connected-file']) fs.writeFileSync(opt['connected-file'], `${s.localPort}\n`);
					const end = Date.now() + 30000;
					const poll = setInterval(() => {
						if (fs.existsSync(opt['go-file'])) { clearInterval(poll); send(); }
						else if (Date.now() > end) die(`no ${opt['go-file']} after 30 s`);
					}, 20);
				} else {
					send();
				}
			} else if (mode === 'unread') {
				const n = num('send', 1000);
				s.write(Buffer.alloc(n, 0x62));
				r.sent = n;
			} else if (mode === 'pingpong') {
				s.setNoDelay(true);
				const size = num('size', 100);
				const next = () => {
					if (rounds === num('rounds', 10)) { s.end(); return; }
					rounds++;
					expectEcho += size;
					r.sent += size;
					s.write(Buffer.alloc(size, 0x63));
				};
				s.on('data', () => { if (r.received === expectEcho) next(); });
				next();
			} else if (mode === 'reset') {
				setTimeout(() => s.resetAndDestroy(), num('hold-ms', 100));
			}
		});
		s.on('data', (d) => { r.received += d.length; });
	});
}

async function client() {
	const mode = opt.mode || 'bytes';
	if (opt['wait-file']) {
		const end = Date.now() + 30000;
		while (!fs.existsSync(opt['wait-file'])) {
			if (Date.now() > end) die(`no ${opt['wait-file']} after 30 s`);
			await new Promise((r) => setTimeout(r, 20));
		}
	}
	const conns = [];
	for (let i = 0; i < num('conns', 1); i++) {
		if (i && opt['pause-ms']) await new Promise((r) => setTimeout(r, num('pause-ms', 0)));
		conns.push(await once(mode));
	}
	if (opt.out) fs.writeFileSync(opt.out, JSON.stringify({ pid: process.pid, conns }) + '\n');
	for (const c of conns) {
		const bad = (why) => die(`${mode} connection from port ${c.lport}: ${why}: ${JSON.stringify(c)}`);
		if (mode === 'bytes') {
			if (c.error) bad('error');
			if (c.received !== num('expect', 0)) bad(`received ${c.received}, not ${num('expect', 0)}`);
		} else if (mode === 'pingpong') {
			if (c.error || c.received !== c.sent) bad('echo incomplete');
		} else if (mode === 'refused') {
			if (c.error !== 'ECONNREFUSED') bad('not refused');
		} else if (mode === 'unread') {
			if (c.error !== 'ECONNRESET') bad('not reset by the server');
		} else if (mode === 'reset') {
			if (c.error) bad('error');
		}
	}
}

if (role === 'server') server();
else if (role === 'client') client().catch((e) => die(e.stack));
else die('first argument: server or client');
