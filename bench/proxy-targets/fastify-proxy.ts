import fastifyHttpProxy from '@fastify/http-proxy';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';

// @fastify/http-proxy (undici underneath) as a plain reverse proxy. LOGGER=1: fastify's own request
// logging (pino, its default two lines per request) on the same buffered destination our proxy
// uses (proxy/main.ts); otherwise logging off, as the fastest it goes.
const app = (process.env.LOGGER === '1' ? Fastify({ loggerInstance: pino({ level: 'info' }, pino.destination({ dest: 1, sync: false, minLength: 4096 })) }) : Fastify({ logger: false })) as unknown as FastifyInstance;
await app.register(fastifyHttpProxy, { upstream: process.env.UPSTREAM as string });
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
process.stdout.write('ready\n');
