// bench/loop_server.js: a minimal HTTP keep-alive server for bench/loop_cost.sh.
//   node loop_server.js PORT
// Answers every request with a short body; prints "listening" once it does.
'use strict';
const http = require('http');
const port = Number(process.argv[2]);
const body = Buffer.from('hello from nodetap bench\n');
http.createServer((req, res) => {
	res.setHeader('Content-Type', 'text/plain');
	res.setHeader('Content-Length', body.length);
	res.end(body);
}).listen(port, '127.0.0.1', () => console.log('listening'));
