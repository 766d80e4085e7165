/**
 * What a Reconciliation found: the products whose canonical form differs between the legacy and
 * a service's store once replication lag is accounted for (Drift), with a few examples of each
 * kind, and how much was compared.
 */
export interface DriftReport {
  /** The service whose store was compared (`pricing`, `pim`). */
  service: string;
  startedAt: string;
  durationMs: number;
  legacyProducts: number;
  storeProducts: number;
  buckets: { size: number; compared: number; differing: number };
  /** In the legacy, not in the store. */
  missing: number[];
  /** In the store, no longer (or never) in the legacy. */
  extra: number[];
  /** In both, with different content. */
  different: number[];
  /** Differences that went away while re-checked: replication lag, not drift. */
  settledByLag: number;
  /**
   * Keys that still differed when the re-checks ran out of time but kept changing (or whose
   * store was still catching up): not counted as drift; run the reconciliation again.
   */
  unsettled: number[];
  /** Re-check rounds run. */
  rounds: number;
  examples: DriftExample[];
  /** Present after --repair: what was requested and how it ended. */
  repair?: RepairOutcome;
}

export type DriftKind = 'missing' | 'extra' | 'different';

export interface DriftExample {
  entityId: number;
  kind: DriftKind;
  /** The top-level fields of the canonical form that differ (all of them for missing/extra). */
  fields: string[];
  legacy: Record<string, unknown> | null;
  store: Record<string, unknown> | null;
}

export interface RepairOutcome {
  /** The snapshots requested (one per table), with their final state. */
  snapshots: Array<{ id: string; table: string; keys: number; state: string; error?: string }>;
  /** Drifted products before the repair. */
  requestedFor: number;
  /** The reconciliation of those products after the snapshot was applied. */
  remaining: number;
}

export function driftCount(report: Pick<DriftReport, 'missing' | 'extra' | 'different'>): number {
  return report.missing.length + report.extra.length + report.different.length;
}

/** Every drifted key, in key order. */
export function driftedKeys(report: Pick<DriftReport, 'missing' | 'extra' | 'different'>): number[] {
  return [...report.missing, ...report.extra, ...report.different].sort((a, b) => a - b);
}

/** The top-level fields whose values differ between two canonical forms. */
export function differingFields(legacy: Record<string, unknown> | null, store: Record<string, unknown> | null): string[] {
  const names = new Set([...Object.keys(legacy ?? {}), ...Object.keys(store ?? {})]);
  return [...names].filter((name) => JSON.stringify(legacy?.[name]) !== JSON.stringify(store?.[name])).sort();
}

const KEYS_SHOWN = 10;

function keyList(keys: readonly number[]): string {
  if (keys.length === 0) return '-';
  const shown = keys.slice(0, KEYS_SHOWN).join(', ');
  return keys.length > KEYS_SHOWN ? `${shown}, … (+${keys.length - KEYS_SHOWN})` : shown;
}

function clip(value: unknown, width = 100): string {
  const text = JSON.stringify(value) ?? 'null';
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

/** The report for a terminal: a short table, then examples. */
export function formatDriftReport(report: DriftReport): string {
  const total = driftCount(report);
  const lines: string[] = [];
  lines.push(
    `${report.service}: ${total === 0 ? 'no drift' : `${total} drifted product${total === 1 ? '' : 's'}`} ` +
      `(${report.legacyProducts} in legacy, ${report.storeProducts} in the store, ${(report.durationMs / 1000).toFixed(1)} s)`,
  );
  lines.push('');
  const rows: Array<[string, string, string]> = [
    ['KIND', 'COUNT', 'ENTITY IDS'],
    ['missing', String(report.missing.length), keyList(report.missing)],
    ['extra', String(report.extra.length), keyList(report.extra)],
    ['different', String(report.different.length), keyList(report.different)],
    ['lag (settled)', String(report.settledByLag), '-'],
    ['unsettled', String(report.unsettled.length), keyList(report.unsettled)],
  ];
  const widths = [0, 1].map((column) => Math.max(...rows.map((row) => row[column]!.length)));
  for (const row of rows) lines.push(`${row[0].padEnd(widths[0]!)}  ${row[1].padStart(widths[1]!)}  ${row[2]}`);
  lines.push('');
  lines.push(
    `buckets of ${report.buckets.size} keys: ${report.buckets.compared} compared, ${report.buckets.differing} differed; ${report.rounds} re-check round${report.rounds === 1 ? '' : 's'}`,
  );
  for (const example of report.examples) {
    lines.push('');
    lines.push(`${example.kind} ${example.entityId}: ${example.fields.join(', ')}`);
    for (const field of example.fields.slice(0, 4)) {
      lines.push(`  ${field}  legacy ${clip(example.legacy?.[field] ?? null)}`);
      lines.push(`  ${' '.repeat(field.length)}  store  ${clip(example.store?.[field] ?? null)}`);
    }
  }
  if (report.unsettled.length > 0) {
    lines.push('');
    lines.push('Unsettled keys kept changing (or the store was still catching up) until the re-checks ran out of time; run reconcile again.');
  }
  if (report.repair) {
    lines.push('');
    const states = report.repair.snapshots.map((s) => `${s.table} ${s.state}${s.error ? ` (${s.error})` : ''}`).join(', ');
    lines.push(`repair: snapshot of ${report.repair.requestedFor} product${report.repair.requestedFor === 1 ? '' : 's'} (${states}); ${report.repair.remaining} still drifted afterwards`);
  }
  return lines.join('\n');
}
