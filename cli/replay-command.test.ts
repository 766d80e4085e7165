import { describe, expect, inject, it } from 'vitest';
import { parseFrom, runReplay, type ReplayCommandIo } from './replay-command.ts';

// What an operator sees from `strangler cdc replay` before anything is re-published: bad input
// and a missing stream or queue end with exit status 2 and a code with a remedy. The replay itself
// is specified in cdc/replay/history-replay.test.ts.

function io(): ReplayCommandIo & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { env: { AMQP_URL: inject('amqpUrl') }, out: (text) => stdout.push(text), err: (text) => stderr.push(text), stdout, stderr };
}

describe('strangler cdc replay', () => {
  it('reads --from as "first" or an ISO time that is not in the future', () => {
    const now = new Date('2026-11-22T04:00:00Z');
    expect(parseFrom('first', now)).toBe('first');
    expect(parseFrom('2026-11-22T03:00:00Z', now)).toEqual(new Date('2026-11-22T03:00:00Z'));
    for (const bad of ['yesterday', '2026-11-23T00:00:00Z', '']) expect(() => parseFrom(bad, now)).toThrow(/CDC_REPLAY_FROM_INVALID|neither/);
  });

  it('exits 2 with a code and a remedy for a bad --from and a missing stream', async () => {
    const badFrom = io();
    expect(await runReplay({ from: 'soon', target: 'pricing' }, badFrom)).toBe(2);
    expect(badFrom.stderr.join('\n')).toContain('CDC_REPLAY_FROM_INVALID');

    const noStream = io();
    expect(await runReplay({ from: 'first', target: 'pricing', stream: `no.such.stream.${process.pid}` }, noStream)).toBe(2);
    expect(noStream.stderr.join('\n')).toMatch(/CDC_REPLAY_STREAM_MISSING[\s\S]*→/);
  });
});
