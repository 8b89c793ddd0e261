// A CPU-bound workload with two known hot functions in a 3:1 ratio, for the
// profile tests: every round calls hotThree three times and hotOne once, and
// each call does the same fixed amount of work (ITERS iterations of the same
// arithmetic, in its own loop), a couple of milliseconds: short and frequent
// calls, so that V8 compiles them normally (node 18 leaves code compiled on
// stack replacement of one long loop out of the perf map).
//
// Neither may be inlined into the other or into the driver, or its frame
// would vanish from the stacks: each carries a large block it never runs
// (more bytecode than V8's inlining limit of 460 bytes, in TurboFan and
// Maglev alike), and they are called through an array the driver indexes.
//
// Usage: node [--perf-basic-prof] profile-app.js SECONDS
// Prints on stderr (stdout is the profiler's) "pid N" at start, "ready" once
// the first round ran and "rounds N" at the end.
'use strict';

const seconds = Number(process.argv[2] || 5);
const ITERS = 300000;

// A block no call runs (rare is always false) that makes the function too
// big to inline: 60 distinct statements.
function pad(n) {
	let s = '';
	for (let i = 0; i < n; i++)
		s += `    acc = (acc * ${i + 3} + ${i * 7 + 1}) % 1000003; if (acc === ${i}) acc += ${i + 11};\n`;
	return s;
}

// eslint-disable-next-line no-new-func
const hotThree = new Function(`return function hotThree(iters, rare) {
  let acc = 1;
  for (let i = 0; i < iters; i++) acc = (acc * 31 + i) % 1000003;
  if (rare) {
${pad(60)}
  }
  return acc;
}`)();
const hotOne = new Function(`return function hotOne(iters, rare) {
  let acc = 7;
  for (let j = 0; j < iters; j++) acc = (acc * 31 + j) % 1000003;
  if (rare) {
${pad(60)}
  }
  return acc;
}`)();

console.error(`pid ${process.pid}`);
const order = [hotThree, hotThree, hotThree, hotOne];
const end = Date.now() + seconds * 1000;
let rounds = 0, sink = 0;
const spent = [0n, 0n, 0n, 0n];   // ns in each call of a round

function round() {
	for (let k = 0; k < order.length; k++) {
		const t0 = process.hrtime.bigint();
		sink += order[k](ITERS, sink < 0);
		spent[k] += process.hrtime.bigint() - t0;
	}
	if (++rounds === 1)
		console.error('ready');
	if (Date.now() < end)
		setImmediate(round);
	else
		console.error(`rounds ${rounds} ms hotThree ${Number(spent[0] + spent[1] + spent[2]) / 1e6} ` +
			`hotOne ${Number(spent[3]) / 1e6}${sink > 0 ? '' : ' -'}`);
}
round();
