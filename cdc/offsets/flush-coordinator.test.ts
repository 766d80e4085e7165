import { describe, expect, it } from 'vitest';
import { FlushCoordinator } from './flush-coordinator.ts';
import { Lsn } from './lsn.ts';

function coordinator() {
  const reports: string[] = [];
  const safe: string[] = [];
  const flush = new FlushCoordinator({
    startLsn: Lsn.parse('0/100'),
    report: (lsn) => reports.push(lsn.toString()),
    onTransactionSafe: (_time, lsn) => safe.push(lsn.toString()),
  });
  return { flush, reports, safe };
}

describe('FlushCoordinator', () => {
  it('does not advance past a transaction until every one of its events is confirmed', () => {
    const { flush, reports } = coordinator();
    const a = flush.register();
    const b = flush.register();
    flush.commit(Lsn.parse('0/200'), 0, 2);
    flush.confirm(a);
    flush.flush();
    expect(reports).toEqual([]);
    flush.confirm(b);
    flush.flush();
    expect(reports).toEqual(['0/200']);
  });

  it('when confirms arrive out of order, then only the contiguous confirmed prefix counts', () => {
    const { flush, safe } = coordinator();
    const first = flush.register();
    flush.commit(Lsn.parse('0/200'), 0, 1);
    const second = flush.register();
    flush.commit(Lsn.parse('0/300'), 0, 1);
    flush.confirm(second);
    expect(flush.safeLsn.toString()).toBe('0/100');
    flush.confirm(first);
    expect(flush.safeLsn.toString()).toBe('0/300');
    expect(safe).toEqual(['0/200', '0/300']);
  });

  it('a transaction without events (a heartbeat) is safe as soon as everything before it is', () => {
    const { flush } = coordinator();
    const event = flush.register();
    flush.commit(Lsn.parse('0/200'), 0, 1);
    flush.commit(Lsn.parse('0/280'), 0, 0);
    expect(flush.safeLsn.toString()).toBe('0/100');
    flush.confirm(event);
    expect(flush.safeLsn.toString()).toBe('0/280');
  });

  it('reports only when the position moved, unless forced (a keepalive that asks for an answer)', () => {
    const { flush, reports } = coordinator();
    flush.flush();
    expect(reports).toEqual([]);
    flush.flush(true);
    expect(reports).toEqual(['0/100']);
  });

  it('holds publishers back while too many events await their confirm', async () => {
    const { flush } = coordinator();
    const ids = [flush.register(), flush.register(), flush.register()];
    let released = false;
    const waiting = flush.waitForOutstandingAtMost(1).then(() => {
      released = true;
    });
    flush.confirm(ids[0]!);
    await Promise.resolve();
    expect(released).toBe(false);
    flush.confirm(ids[1]!);
    await waiting;
    expect(released).toBe(true);
  });
});
