import { generateLoad } from './load-generator.ts';

export interface FixedRateResult {
  sent: number;
  failed: number;
  p50: number;
  p99: number;
  max: number;
  /** Every successful request's latency in ms, ascending (to pool several runs into one distribution). */
  latencies: number[];
  /** CPU the client used, in microseconds (its own process). */
  clientCpuMicros: number;
}

/**
 * An open-loop client at a steady request rate: bench/support/load-generator.ts in its own
 * process, each request's latency counted from its due time. Why not an in-process node:http
 * client (what this was until 2026-12-07): on 2 cores it cost ~270 µs of CPU per request in the
 * benchmark's own process, next to the proxy it measured, and its 1 ms setTimeout ticks timed
 * requests from when they happened to be sent, not from when they were due.
 */
export async function fixedRate(port: number, path: string, perSecond: number, seconds: number): Promise<FixedRateResult> {
  const result = await generateLoad({ port, paths: [path], seconds, perSecond, connections: 64, keepLatencies: true });
  const latencies = result.latencies ?? [];
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    sent: result.requests,
    failed: result.failed,
    p50: at(0.5),
    p99: at(0.99),
    max: latencies.at(-1) ?? 0,
    latencies,
    clientCpuMicros: result.clientCpuMicrosPerRequest * result.requests,
  };
}
