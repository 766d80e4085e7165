import { Agent, request } from 'node:http';

export interface FixedRateResult {
  sent: number;
  failed: number;
  p50: number;
  p99: number;
  max: number;
  /** Every successful request's latency in ms, ascending (to pool several runs into one distribution). */
  latencies: number[];
}

/**
 * An open-loop client at a steady request rate, timing each request to the sub-millisecond
 * (autocannon rounds latencies to whole milliseconds, too coarse for a "direct + 1 ms" target).
 */
export async function fixedRate(port: number, path: string, perSecond: number, seconds: number): Promise<FixedRateResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const latencies: number[] = [];
  let failed = 0;
  let sent = 0;
  const total = perSecond * seconds;
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * perSecond));
      while (sent < due) {
        sent += 1;
        const begin = performance.now();
        inFlight.push(
          new Promise<void>((done) => {
            request({ host: '127.0.0.1', port, path, agent }, (res) => {
              res.resume();
              res.on('end', () => {
                if (res.statusCode === 200) latencies.push(performance.now() - begin);
                else failed += 1;
                done();
              });
            })
              .on('error', () => {
                failed += 1;
                done();
              })
              .end();
          }),
        );
      }
      if (sent >= total) resolve();
      // 1 ms ticks: a busy loop here would steal a core from the proxy and the upstream.
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(inFlight);
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { sent, failed, p50: at(0.5), p99: at(0.99), max: latencies.at(-1) ?? 0, latencies };
}
