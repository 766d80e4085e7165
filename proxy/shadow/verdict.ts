/**
 * The outcome of one shadowed request. Only `mismatch` counts against the service: `converged`
 * differed first and agreed once the service had caught up with the legacy (replication lag),
 * `error` is the shadow failing or timing out, `skipped` was not compared (concurrency limit,
 * oversize body with `oversize: skip`, unsafe method, primary failed).
 */
export const VERDICTS = ['match', 'converged', 'mismatch', 'error', 'skipped'] as const;
export type Verdict = (typeof VERDICTS)[number];
