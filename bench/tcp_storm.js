// bench/tcp_storm.js N: N loopback TCP connections one after the other, in
// one node process (server and client), each carrying 100 bytes each way;
// prints {"connections":N,"ms":T} with the time they took.
'use strict';
const net = require('net');
const n = Number(process.argv[2] || 2000);
const srv = net.createServer((s) => {
	s.on('data', () => s.end(Buffer.alloc(100)));
	s.on('error', () => {});
});
srv.listen(0, '127.0.0.1', () => {
	const port = srv.address().port;
	const t0 = process.hrtime.bigint();
	let left = n;
	const one = () => {
		const c = net.connect(port, '127.0.0.1', () => c.write(Buffer.alloc(100)));
		c.on('data', () => {});
		c.on('end', () => c.end());
		c.on('close', () => {
			if (--left) return one();
			const ms = Number(process.hrtime.bigint() - t0) / 1e6;
			console.log(JSON.stringify({ connections: n, ms }));
			srv.close();
		});
	};
	one();
});
