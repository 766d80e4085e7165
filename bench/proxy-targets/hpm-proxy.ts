import { Agent, createServer } from 'node:http';
import { createProxyMiddleware } from 'http-proxy-middleware';

// Bare http-proxy-middleware on node:http (no express), with a keep-alive agent as in production.
const proxy = createProxyMiddleware({ target: process.env.UPSTREAM, agent: new Agent({ keepAlive: true, maxFreeSockets: 256 }) });
createServer((req, res) => {
  void proxy(req, res, () => {
    res.statusCode = 404;
    res.end();
  });
}).listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready\n'));
