import http from 'node:http';
import querystring from 'node:querystring';
import type { Logger } from '../../../platform/logger.ts';
import { Lsn } from '../../../cdc/offsets/lsn.ts';
import type { PricingMetrics } from '../metrics.ts';
import { answerFinalPrice, finalPriceAnswer, type FinalPriceAnswer, type FinalPriceDeps } from './final-price.ts';
import { createPricingApp, type PricingAppDeps } from './pricing-app.ts';

const FINAL_PRICE_PATH = /^\/rest\/V1\/products\/([^/]+)\/final-price$/;

/**
 * The HTTP server: `GET /rest/V1/products/:sku/final-price` — the hot path — is answered straight
 * from node:http; everything else (and any final-price request it does not recognise exactly) goes
 * to the express app. Why: express 5's per-request machinery cost about ten times the whole answer
 * on this machine (≈1.5k vs ≈11k requests/s for a constant JSON body), and the issue's target is
 * a p99 under 5 ms at 1,000 requests/s.
 *
 * The answer is the one express gives, byte for byte and header for header: the same body
 * (JSON.stringify), `Content-Type: application/json; charset=utf-8`, `Content-Length`, and
 * `Vary: Accept-Encoding` (which the legacy's compression middleware adds to every JSON answer;
 * a final-price body is far below its 1 kB threshold, so it is never compressed). The path
 * parameter is decoded as express decodes it, the query parsed by express's "simple" parser
 * (node:querystring); a sku express could not decode is left to express, which answers the error.
 *
 * A sku in the cache is answered synchronously (no promise between the request and its answer),
 * and a query string it was already asked today from the body text remembered with its facts
 * (AnswerMemo): at 1,000 requests/s that is most requests, and it allocates a fraction of what
 * parsing, the rule's decimal arithmetic and JSON.stringify did.
 */
export function createPricingServer(deps: PricingAppDeps & FinalPriceDeps & { metrics: PricingMetrics; logger: Logger }): http.Server {
  const app = createPricingApp(deps);
  const log = deps.logger.child({ component: 'pricing-http' });
  const answered = deps.metrics.finalPriceSeconds.labels({ status: '200' });
  // X-Data-Lsn: formatted again only when the applied LSN moved.
  let lsn: Lsn | null | undefined;
  let lsnText = Lsn.ZERO.toString();
  const lsnHeader = () => {
    const current = deps.appliedLsn();
    if (current !== lsn) {
      lsn = current;
      lsnText = (current ?? Lsn.ZERO).toString();
    }
    return lsnText;
  };
  const send = (res: http.ServerResponse, started: number, status: number, text: string, bytes: number) => {
    res.writeHead(status, {
      'X-Data-Lsn': lsnHeader(),
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': bytes,
      Vary: 'Accept-Encoding',
    });
    res.end(text);
    const seconds = (performance.now() - started) / 1000;
    if (status === 200) answered.observe(seconds);
    else deps.metrics.finalPriceSeconds.observe({ status: String(status) }, seconds);
  };
  const sendAnswer = (res: http.ServerResponse, started: number, answer: FinalPriceAnswer) => {
    const text = JSON.stringify(answer.body);
    send(res, started, answer.status, text, Buffer.byteLength(text));
  };
  const load = (key: string) => deps.store.factsOf(key);
  return http.createServer((req, res) => {
    const url = req.url ?? '/';
    const mark = url.indexOf('?');
    const match = req.method === 'GET' ? FINAL_PRICE_PATH.exec(mark < 0 ? url : url.slice(0, mark)) : null;
    let sku: string | undefined;
    if (match) {
      try {
        sku = decodeURIComponent(match[1]!);
      } catch {
        sku = undefined;
      }
    }
    if (sku === undefined) {
      app(req, res);
      return;
    }
    const started = performance.now();
    const rawQuery = mark < 0 ? '' : url.slice(mark + 1);
    try {
      // A cached sku is answered synchronously, and a query it was asked before today from memory.
      const cached = deps.cache.peek(sku, load);
      if (cached !== undefined) {
        const now = deps.clock();
        const known = cached.facts === null ? undefined : cached.answers.find(rawQuery, now);
        if (known) return send(res, started, 200, known.text, known.bytes);
        const answer = finalPriceAnswer(cached.facts, querystring.parse(rawQuery), now);
        if (answer.status !== 200) return sendAnswer(res, started, answer);
        const remembered = cached.answers.remember(rawQuery, now, JSON.stringify(answer.body));
        return send(res, started, 200, remembered.text, remembered.bytes);
      }
    } catch (error) {
      return failed(res, started, url, error);
    }
    answerFinalPrice(deps, sku, querystring.parse(rawQuery)).then(
      (answer) => sendAnswer(res, started, answer),
      (error: unknown) => failed(res, started, url, error),
    );
  });

  function failed(res: http.ServerResponse, started: number, url: string, error: unknown): void {
    log.error({ err: error, url }, 'unhandled error in the pricing API');
    sendAnswer(res, started, { status: 500, body: { message: 'Internal Error. Details are available in Magento log file. Report ID: %1', parameters: [String(Date.now())] } });
  }
}
