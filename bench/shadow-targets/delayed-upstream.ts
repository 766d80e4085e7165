import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';

// A catalog-like upstream for bench:shadow: a small JSON answer after DELAY_MS (a database read).
const delay = Number(process.env.DELAY_MS ?? 0);
const body = Buffer.from(JSON.stringify({ sku: '24-MB01', name: 'Joust Duffle Bag', price: 34, qty: 100, tiers: [{ qty: 2, price: 32 }, { qty: 5, price: 30 }] }));

// How late each answer's timer fired, in ms: a witness of the machine's scheduling noise at no
// extra cost (the timers run anyway). The legacy serves every configuration of the bench, so a
// stall of the whole machine shows here as well as in the configuration it hit; a stall of the
// proxy alone does not. Read and reset by the bench at LATENESS_PATH, asked directly (not through a proxy).
const LATENESS_PATH = '/__bench/lateness';
let lateness: number[] = [];

const server = createServer((req, res) => {
  if (req.url === LATENESS_PATH) {
    const sorted = Float64Array.from(lateness).sort();
    lateness = [];
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ answers: sorted.length, p99: at(0.99), max: sorted.at(-1) ?? 0 }));
    return;
  }
  const answer = () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  };
  if (delay > 0) {
    const due = performance.now() + delay;
    setTimeout(() => {
      // Bounded: the bench reads it every slice; a run without reads keeps the last 100,000.
      if (lateness.length < 100_000) lateness.push(performance.now() - due);
      answer();
    }, delay);
  } else answer();
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready\n'));
