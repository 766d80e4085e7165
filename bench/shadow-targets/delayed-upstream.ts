import { createServer } from 'node:http';

// A catalog-like upstream for bench:shadow: a small JSON answer after DELAY_MS (a database read).
const delay = Number(process.env.DELAY_MS ?? 0);
const body = Buffer.from(JSON.stringify({ sku: '24-MB01', name: 'Joust Duffle Bag', price: 34, qty: 100, tiers: [{ qty: 2, price: 32 }, { qty: 5, price: 30 }] }));
const server = createServer((_req, res) => {
  const answer = () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
  };
  if (delay > 0) setTimeout(answer, delay);
  else answer();
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready\n'));
