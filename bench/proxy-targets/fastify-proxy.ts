import fastifyHttpProxy from '@fastify/http-proxy';
import Fastify from 'fastify';

// @fastify/http-proxy (undici underneath) as a plain reverse proxy, logging off.
const app = Fastify({ logger: false });
await app.register(fastifyHttpProxy, { upstream: process.env.UPSTREAM as string });
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
process.stdout.write('ready\n');
