import { randomUUID } from 'node:crypto';
import type { ConsumeMessage, Options } from 'amqplib';
import { CONTROL_HEADER } from '../snapshot/snapshot-protocol.ts';

/**
 * AMQP 0.9.1 has no end-of-stream: a consumer of a RabbitMQ stream just stops receiving. A
 * replay therefore first appends a marker of its own to the history stream (default exchange,
 * routing key = the stream, confirmed) and reads until it meets it: everything published before
 * the replay started lies before the marker, so the end is exact, not a guess from an idle timer.
 *
 * Markers stay in the stream. Every reader of the stream must skip them: they carry the control
 * header (`x-strangler-control: replay.marker`), no `table` header, and are not change events.
 * `isReplayMarker` tells them apart.
 */
export const REPLAY_MARKER_KIND = 'replay.marker';
export const REPLAY_MARKER_TYPE = 'strangler.replay.marker';
export const REPLAY_MARKER_CONTENT_TYPE = 'application/vnd.strangler.replay-marker+json';

export interface ReplayMarker {
  messageId: string;
  content: Buffer;
  options: Options.Publish;
}

export function createReplayMarker(replayId: string = randomUUID(), now: Date = new Date()): ReplayMarker {
  const messageId = `replay-marker:${replayId}`;
  return {
    messageId,
    content: Buffer.from(JSON.stringify({ replayId, at: now.toISOString() })),
    options: {
      persistent: true,
      messageId,
      type: REPLAY_MARKER_TYPE,
      contentType: REPLAY_MARKER_CONTENT_TYPE,
      timestamp: Math.floor(now.getTime() / 1000),
      headers: { [CONTROL_HEADER]: REPLAY_MARKER_KIND },
    },
  };
}

/** True for any replay's marker (this one or an earlier replay's). */
export function isReplayMarker(message: Pick<ConsumeMessage, 'properties'>): boolean {
  const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
  return headers[CONTROL_HEADER] === REPLAY_MARKER_KIND || message.properties.type === REPLAY_MARKER_TYPE;
}
