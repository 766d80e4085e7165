import { Lsn } from '../../cdc/offsets/lsn.ts';

/**
 * How far the legacy's write-ahead log has got, as the CDC bridge sees it (GET CDC_URL/healthz →
 * `receivedLsn`, see cdc/health-server.ts). Read when a shadow answer differs: any change the
 * legacy had committed before the original request sits at or below it, so a CDC-fed service
 * whose X-Data-Lsn has reached it has seen that change. It may run ahead of the last *captured*
 * change (WAL of other tables), which is why the recheck also has a deadline.
 */
export type ReplicationWatermark = () => Promise<Lsn | null>;

export function bridgeWatermark(cdcUrl: string, fetchImpl: typeof fetch = fetch, timeoutMs = 500): ReplicationWatermark {
  const url = `${cdcUrl.replace(/\/+$/, '')}/healthz`;
  let cached: { at: number; value: Promise<Lsn | null> } | undefined;
  return () => {
    // Many differences at once (a burst of writes) share one read of the bridge.
    const now = Date.now();
    if (cached && now - cached.at < 5) return cached.value;
    const value = (async () => {
      try {
        const response = await fetchImpl(url, { signal: AbortSignal.timeout(timeoutMs) });
        const body = (await response.json()) as { receivedLsn?: unknown; flushedLsn?: unknown };
        const text = typeof body.receivedLsn === 'string' ? body.receivedLsn : typeof body.flushedLsn === 'string' ? body.flushedLsn : null;
        return text === null ? null : Lsn.parse(text);
      } catch {
        return null;
      }
    })();
    cached = { at: now, value };
    return value;
  };
}

/** X-Data-Lsn of an answer, or null when absent or unreadable. */
export function dataLsn(headers: Readonly<Record<string, string | string[] | undefined>>): Lsn | null {
  const value = headers['x-data-lsn'];
  if (typeof value !== 'string') return null;
  try {
    return Lsn.parse(value);
  } catch {
    return null;
  }
}
