import http from 'node:http';
import querystring from 'node:querystring';
import type { Logger } from '../../../platform/logger.ts';
import { Lsn } from '../../../cdc/offsets/lsn.ts';
import type { PricingMetrics } from '../metrics.ts';
import { answerFinalPrice, type FinalPriceDeps } from './final-price.ts';
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
 */
export function createPricingServer(deps: PricingAppDeps & FinalPriceDeps & { metrics: PricingMetrics; logger: Logger }): http.Server {
  const app = createPricingApp(deps);
  const log = deps.logger.child({ component: 'pricing-http' });
  const answered = deps.metrics.finalPriceSeconds.labels({ status: '200' });
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
    const query = mark < 0 ? {} : querystring.parse(url.slice(mark + 1));
    answerFinalPrice(deps, sku, query).then(
      (answer) => send(answer.status, answer.body),
      (error: unknown) => {
        log.error({ err: error, url }, 'unhandled error in the pricing API');
        send(500, { message: 'Internal Error. Details are available in Magento log file. Report ID: %1', parameters: [String(Date.now())] });
      },
    );

    function send(status: number, body: unknown): void {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'X-Data-Lsn': (deps.appliedLsn() ?? Lsn.ZERO).toString(),
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': Buffer.byteLength(text),
        Vary: 'Accept-Encoding',
      });
      res.end(text);
      const seconds = (performance.now() - started) / 1000;
      if (status === 200) answered.observe(seconds);
      else deps.metrics.finalPriceSeconds.observe({ status: String(status) }, seconds);
    }
  });
}
