import { StranglerError, messageOf, redactUrl } from '../../platform/errors.ts';

/** The error codes of `strangler cdc replay` (each with a remedy, platform/errors.ts). */
export const ReplayErrors = {
  brokerUnavailable: (url: string, cause: unknown) =>
    new StranglerError('CDC_REPLAY_BROKER_UNAVAILABLE', `cannot reach RabbitMQ at ${redactUrl(url)}: ${messageOf(cause)}`, {
      remedy: 'Check that RabbitMQ runs and that AMQP_URL is right.',
      cause,
    }),
  streamMissing: (stream: string) =>
    new StranglerError('CDC_REPLAY_STREAM_MISSING', `the history stream ${stream} does not exist`, {
      remedy: 'Start the CDC bridge once (npm start): it creates the stream (CDC_STREAM) and keeps every event in it.',
    }),
  targetMissing: (queue: string) =>
    new StranglerError('CDC_REPLAY_TARGET_MISSING', `the target queue ${queue} does not exist`, {
      remedy: 'Start the service once so that it declares its queue (or declare it), then replay; a queue name with a dot is taken as is, a service name means <service>.cdc.',
    }),
  invalidFrom: (value: string) =>
    new StranglerError('CDC_REPLAY_FROM_INVALID', `--from ${JSON.stringify(value)} is neither "first" nor an ISO time in the past`, {
      remedy: 'Use --from first, or an ISO 8601 time such as 2026-11-22T03:00:00Z that is not in the future.',
    }),
  refused: (messageId: string) =>
    new StranglerError('CDC_REPLAY_NACK', `RabbitMQ refused to take message ${messageId}`, {
      remedy: 'Look at the broker (memory or disk alarm, queue length limit) and replay again; the consumer kit skips what it already applied.',
    }),
} as const;
