import { createServer } from 'node:http';

// The benchmark's upstream: a fixed small JSON answer, as cheap as node:http allows.
const body = Buffer.from(JSON.stringify({ sku: '24-MB01', name: 'Joust Duffle Bag', price: 34, qty: 100 }));
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready\n'));
