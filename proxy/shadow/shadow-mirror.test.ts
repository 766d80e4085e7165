import { createServer, request, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Lsn } from '../../cdc/offsets/lsn.ts';
import { silentLogger } from '../../platform/logger.ts';
import type { Upstream } from '../routes/upstream.ts';
import { send, startUpstream, type TestUpstream } from '../test-kit.ts';
import { ShadowMirror, type ShadowRoute } from './shadow-mirror.ts';
import { ShadowReport } from './shadow-report.ts';
import { compileShadowRules, type ShadowDefinition } from './shadow-rules.ts';

/**
 * The mirror on its own, behind a minimal front server that does what the forwarder does with a
 * tap (forward to the primary, hand the response to the tap, pipe it to the client). The same
 * scenarios through the real proxy live in shadow-mode.test.ts.
 */
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of cleanup.splice(0).reverse()) await close();
});

function upstream(name: string, server: TestUpstream): Upstream {
  const url = new URL(server.url);
  return { name, url, origin: url.origin, timeoutMs: 2000, maxFreeSockets: 8, circuit: { failures: 5, resetMs: 1000 } };
}

async function start(handler: RequestListener): Promise<TestUpstream> {
  const server = await startUpstream(handler);
  cleanup.push(() => server.close());
  return server;
}

const jsonAnswer = (value: unknown, status = 200, headers: Record<string, string> = {}): RequestListener => (_req, res) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(value));
};

async function front(options: { primary: RequestListener; shadow: RequestListener; rules?: Partial<ShadowDefinition>; watermark?: () => Promise<Lsn | null>; push?: boolean }) {
  const legacy = await start(options.primary);
  const service = await start(options.shadow);
  const report = new ShadowReport();
  const mirror = new ShadowMirror({ report, logger: silentLogger(), ...(options.watermark ? { watermark: options.watermark } : {}) });
  const route: ShadowRoute = { id: 'r', rules: compileShadowRules(options.rules), primary: upstream('legacy', legacy), shadow: upstream('pricing', service) };
  const server: Server = createServer((req, res) => {
    const tap = mirror.begin(route, req);
    const forwarded = request({ host: '127.0.0.1', port: legacy.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      if (!options.push) tap?.primaryResponse(answer);
      else if (tap) {
        // A forwarder without an IncomingMessage pushes the answer instead (headers built lazily).
        tap.primaryStart(answer.statusCode ?? 0, () => answer.headers);
        answer.on('data', (chunk: Buffer) => tap.primaryData(chunk));
        answer.on('end', () => tap.primaryEnd());
      }
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forwarded.on('error', () => tap?.primaryFailed('primary-error'));
    req.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(async () => {
    await mirror.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const summary = () => report.route('r').summary();
  const last = () => report.route('r').mismatches().at(-1);
  return { url, mirror, report, summary, last, legacy, service };
}

describe('shadow verdicts', () => {
  it('when both sides answer the same, then the verdict is match', async () => {
    const setup = await front({ primary: jsonAnswer({ price: 10 }), shadow: jsonAnswer({ price: 10 }) });
    expect((await send(`${setup.url}/p`)).body).toBe('{"price":10}');
    await setup.mirror.idle();
    expect(setup.summary().counts.match).toBe(1);
    expect(setup.summary().matchRate).toBe(1);
  });

  it('when the shadow differs in a field, a status, a header or an array order, then each is a mismatch with its path', async () => {
    const cases: [unknown, number, Record<string, string>, string[]][] = [
      [{ price: 10, items: [1, 2] }, 200, {}, ['$.price']],
      [{ price: 12, items: [1, 2] }, 404, {}, ['@status']],
      [{ price: 12, items: [1, 2] }, 200, { 'content-type': 'text/plain' }, ['@header.content-type']],
      [{ price: 12, items: [2, 1] }, 200, {}, ['$.items[0]', '$.items[1]']],
    ];
    for (const [body, status, headers, paths] of cases) {
      const setup = await front({ primary: jsonAnswer({ price: 12, items: [1, 2] }), shadow: jsonAnswer(body, status, headers) });
      const answer = await send(`${setup.url}/rest/V1/products/A/final-price?x=1`, { headers: { authorization: 'Bearer secret' } });
      expect(answer.body).toBe('{"price":12,"items":[1,2]}');
      await setup.mirror.idle();
      expect(setup.summary().counts.mismatch).toBe(1);
      const record = setup.last();
      expect(record?.diffs.map((diff) => diff.path)).toEqual(paths);
      expect(record?.request.url).toBe('/rest/V1/products/A/final-price?x=1');
      expect(record?.request.headers.authorization).toBe('[redacted]');
      expect(record?.primary.body).toBe('{"price":12,"items":[1,2]}');
    }
  });

  it('when rules ignore a path, allow a tolerance and pair an array by key, then those differences match', async () => {
    const setup = await front({
      primary: jsonAnswer({ total: 10, items: [{ sku: 'A', updated_at: 1 }, { sku: 'B', updated_at: 2 }] }),
      shadow: jsonAnswer({ total: 10.004, items: [{ sku: 'B', updated_at: 9 }, { sku: 'A', updated_at: 8 }] }),
      rules: { ignore: ['$.items[*].updated_at'], tolerance: 0.01, unordered: [{ path: '$.items', key: 'sku' }] },
    });
    await send(`${setup.url}/p`);
    await setup.mirror.idle();
    expect(setup.summary().counts).toMatchObject({ match: 1, mismatch: 0 });
  });

  it('when the primary stamps each answer with the time, then noise: auto learns that field and does not count it', async () => {
    let tick = 0;
    const stamped: RequestListener = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ price: 10, meta: { generated_at: `2026-11-22T01:00:${String(tick++ % 60).padStart(2, '0')}Z` } }));
    };
    const setup = await front({ primary: stamped, shadow: stamped, rules: { noise: 'auto', noiseSamples: 3 } });
    for (let index = 0; index < 5; index++) {
      await send(`${setup.url}/p`);
      await setup.mirror.idle();
    }
    expect(setup.summary().counts).toMatchObject({ match: 5, mismatch: 0 });
    expect(setup.summary().noise).toEqual([{ path: '$.meta.generated_at', count: 3 }]);
  });

  it('when the difference is real, then noise calibration does not hide it', async () => {
    let tick = 0;
    const setup = await front({
      primary: (_req, res) => jsonAnswer({ price: 10, at: tick++ })(_req, res),
      shadow: jsonAnswer({ price: 11, at: -1 }),
      rules: { noise: 'auto', noiseSamples: 2 },
    });
    await send(`${setup.url}/p`);
    await setup.mirror.idle();
    expect(setup.last()?.diffs.map((diff) => diff.path)).toEqual(['$.price']);
  });
});

describe('replication-aware verdicts', () => {
  /**
   * A CDC-fed service that applies a legacy change `lagMs` after it was committed: the legacy
   * commits price 12 at LSN 0/200; the bridge has received it (watermark 0/200); the service
   * answers 10 at 0/100 until it applies the change.
   */
  async function lagging(lagMs: number, options: { finalPrice?: number; watermark?: string | null } = {}) {
    const committed = Date.now();
    const service: RequestListener = (req, res) => {
      const applied = Date.now() - committed >= lagMs;
      res.writeHead(200, { 'content-type': 'application/json', 'x-data-lsn': applied ? '0/200' : '0/100' });
      res.end(JSON.stringify({ price: applied ? (options.finalPrice ?? 12) : 10, shadowHeader: req.headers['x-strangler-shadow'] }));
    };
    const legacyAnswer: RequestListener = (req, res) => jsonAnswer({ price: 12, shadowHeader: '1' })(req, res);
    const watermark = options.watermark === null ? async () => null : async () => Lsn.parse(options.watermark ?? '0/200');
    return front({ primary: legacyAnswer, shadow: service, watermark, rules: { lsnWaitMs: 1500 } });
  }

  it('when a change written just before the read reaches the service 150 ms later, then the verdict is converged, not mismatch', async () => {
    const setup = await lagging(150);
    await send(`${setup.url}/p`);
    await setup.mirror.idle();
    expect(setup.summary().counts).toMatchObject({ converged: 1, mismatch: 0 });
    expect(setup.summary().matchRate).toBe(1);
  });

  it('when the service has caught up with the legacy and still differs, then the verdict is mismatch, with why', async () => {
    const setup = await lagging(100, { finalPrice: 13 });
    await send(`${setup.url}/p`);
    await setup.mirror.idle();
    expect(setup.summary().counts).toMatchObject({ converged: 0, mismatch: 1 });
    expect(setup.last()?.note).toBe("service reached LSN 0/200 ≥ legacy's 0/200");
    expect(setup.last()?.shadow.lsn).toBe('0/200');
    expect(setup.last()?.diffs).toEqual([{ path: '$.price', kind: 'changed', primary: 12, shadow: 13 }]);
  });

  it('when the bridge cannot be asked, then a moving X-Data-Lsn is still followed until the answers agree', async () => {
    const setup = await lagging(100, { watermark: null });
    await send(`${setup.url}/p`);
    await setup.mirror.idle();
    expect(setup.summary().counts).toMatchObject({ converged: 1, mismatch: 0 });
  });

  it('when there is no LSN, then recheckAfterMs re-asks both sides once', async () => {
    let calls = 0;
    const setup = await front({
      primary: jsonAnswer({ price: 12 }),
      shadow: (req, res) => jsonAnswer({ price: calls++ === 0 ? 10 : 12 })(req, res),
      rules: { recheckAfterMs: 50 },
    });
    await send(`${setup.url}/p`);
    await setup.mirror.idle();
    expect(setup.summary().counts).toMatchObject({ converged: 1 });
    expect(calls).toBe(2);
  });

  it('when there is neither an LSN nor recheckAfterMs, then a difference is a mismatch at once', async () => {
    const setup = await front({ primary: jsonAnswer({ price: 12 }), shadow: jsonAnswer({ price: 10 }) });
    await send(`${setup.url}/p`);
    await setup.mirror.idle();
    expect(setup.summary().counts).toMatchObject({ mismatch: 1 });
    expect(setup.last()?.attempts).toBe(1);
  });
});

describe('shadow failures and limits', () => {
  it('when the shadow is slower than timeoutMs, then the verdict is error (timeout) and the client got its answer at primary speed', async () => {
    const setup = await front({ primary: jsonAnswer({ a: 1 }), shadow: (req, res) => setTimeout(() => jsonAnswer({ a: 1 })(req, res), 1000).unref(), rules: { timeoutMs: 100 } });
    const started = performance.now();
    expect((await send(`${setup.url}/p`)).status).toBe(200);
    expect(performance.now() - started).toBeLessThan(90);
    await setup.mirror.idle();
    expect(setup.summary().counts.error).toBe(1);
    expect(setup.summary().reasons).toEqual({ 'error:timeout': 1 });
  });

  it('when the shadow is dead, then the verdict is error and nothing else happens', async () => {
    const setup = await front({ primary: jsonAnswer({ a: 1 }), shadow: jsonAnswer({ a: 1 }) });
    await setup.service.close();
    expect((await send(`${setup.url}/p`)).status).toBe(200);
    await setup.mirror.idle();
    expect(setup.summary().reasons).toEqual({ 'error:error': 1 });
  });

  it('when more than maxConcurrent shadow requests are in flight, then the rest are skipped and counted', async () => {
    const setup = await front({ primary: jsonAnswer({ a: 1 }), shadow: (req, res) => setTimeout(() => jsonAnswer({ a: 1 })(req, res), 200).unref(), rules: { maxConcurrent: 2 } });
    await Promise.all(Array.from({ length: 6 }, () => send(`${setup.url}/p`)));
    await setup.mirror.idle();
    expect(setup.summary().counts).toMatchObject({ match: 2, skipped: 4 });
    expect(setup.summary().reasons).toEqual({ 'skipped:max-concurrent': 4 });
  });

  it('when a POST arrives, then it is not mirrored (skipped, unsafe-method) and the shadow sees nothing', async () => {
    let shadowCalls = 0;
    const setup = await front({ primary: jsonAnswer({ ok: true }), shadow: (req, res) => (shadowCalls++, jsonAnswer({ ok: true })(req, res)) });
    await send(`${setup.url}/carts`, { method: 'POST', body: '{"x":1}', headers: { 'content-type': 'application/json' } });
    await setup.mirror.idle();
    expect(shadowCalls).toBe(0);
    expect(setup.summary().reasons).toEqual({ 'skipped:unsafe-method': 1 });
  });

  it('when unsafe: mirror is set, then a POST is mirrored with its body and the shadow header', async () => {
    const seen: { body: string; header: string | undefined }[] = [];
    const setup = await front({
      primary: jsonAnswer({ ok: true }),
      shadow: (req, res) => {
        let body = '';
        req.on('data', (chunk: Buffer) => (body += chunk.toString()));
        req.on('end', () => {
          seen.push({ body, header: req.headers['x-strangler-shadow'] as string | undefined });
          jsonAnswer({ ok: true })(req, res);
        });
      },
      rules: { unsafe: 'mirror' },
    });
    await send(`${setup.url}/carts`, { method: 'POST', body: '{"x":1}', headers: { 'content-type': 'application/json' } });
    await setup.mirror.idle();
    expect(seen).toEqual([{ body: '{"x":1}', header: '1' }]);
    expect(setup.summary().counts.match).toBe(1);
  });

  it('when sampleRate is 0.25, then about a quarter of the requests are compared', async () => {
    const setup = await front({ primary: jsonAnswer({ a: 1 }), shadow: jsonAnswer({ a: 1 }), rules: { sampleRate: 0.25 } });
    for (let index = 0; index < 120; index++) await send(`${setup.url}/p`);
    await setup.mirror.idle();
    expect(setup.summary().counts.match).toBeGreaterThan(12);
    expect(setup.summary().counts.match).toBeLessThan(50);
  });

  it('when bodies are over maxBodyBytes and oversize is skip, then the request is skipped and counted', async () => {
    const big = { blob: 'x'.repeat(5000) };
    const setup = await front({ primary: jsonAnswer(big), shadow: jsonAnswer(big), rules: { maxBodyBytes: 1000, oversize: 'skip' } });
    expect((await send(`${setup.url}/p`)).body.length).toBeGreaterThan(5000);
    await setup.mirror.idle();
    expect(setup.summary().reasons).toEqual({ 'skipped:oversize': 1 });
  });
});

describe('a tap fed by push (primaryStart, primaryData, primaryEnd)', () => {
  it('when the forwarder pushes the primary answer, then the verdicts are the same as when the tap listens to it', async () => {
    const setup = await front({
      primary: (req, res) => jsonAnswer({ price: 10 }, 200, { etag: req.url === '/etag' ? '"a"' : '"b"' })(req, res),
      shadow: (req, res) => jsonAnswer({ price: req.url === '/diff' ? 11 : 10 }, 200, { etag: '"b"' })(req, res),
      rules: { headers: ['content-type', 'etag'] },
      push: true,
    });
    for (const path of ['/same', '/diff', '/etag']) expect((await send(`${setup.url}${path}`)).body).toBe('{"price":10}');
    await setup.mirror.idle();
    expect(setup.summary().counts).toMatchObject({ match: 1, mismatch: 2 });
    expect(setup.report.route('r').mismatches().map((record) => record.diffs.map((diff) => diff.path))).toEqual([['$.price'], ['@header.etag']]);
  });
});
