import { Lsn } from '../../cdc/offsets/lsn.ts';

/**
 * What a CDC-fed service must have applied to have seen every change the legacy had committed
 * before a shadow answer was found to differ. Read from the CDC bridge: GET CDC_URL/watermark
 * answers the commit LSN of the last captured transaction before a marker the bridge writes to
 * the WAL at that moment (cdc/source/stream-watermark.ts), so a change committed a millisecond ago
 * that the bridge has not read yet is still counted. A bridge without that endpoint (404) is asked
 * for its received position instead (GET /healthz → `receivedLsn`), which can sit below a
 * just-committed change. The last captured commit may belong to a table the service does not
 * follow, which is why the recheck also has a deadline.
 */
export type ReplicationWatermark = () => Promise<Lsn | null>;

export function bridgeWatermark(cdcUrl: string, fetchImpl: typeof fetch = fetch, timeoutMs = 1500): ReplicationWatermark {
  const base = cdcUrl.replace(/\/+$/, '');
  let watermarkEndpoint = true;
  let cached: { at: number; value: Promise<Lsn | null> } | undefined;
  const read = async (): Promise<Lsn | null> => {
    try {
      if (watermarkEndpoint) {
        const response = await fetchImpl(`${base}/watermark`, { signal: AbortSignal.timeout(timeoutMs) });
        if (response.status !== 404) {
          const body = (await response.json()) as { lsn?: unknown };
          return typeof body.lsn === 'string' ? Lsn.parse(body.lsn) : null;
        }
        watermarkEndpoint = false;
      }
      const response = await fetchImpl(`${base}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
      const body = (await response.json()) as { receivedLsn?: unknown; flushedLsn?: unknown };
      const text = typeof body.receivedLsn === 'string' ? body.receivedLsn : typeof body.flushedLsn === 'string' ? body.flushedLsn : null;
      return text === null ? null : Lsn.parse(text);
    } catch {
      return null;
    }
  };
  return () => {
    // Many differences at once (a burst of writes) share one read of the bridge.
    const now = Date.now();
    if (cached && now - cached.at < 5) return cached.value;
    const value = read();
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
