import { StranglerError, messageOf } from '../../platform/errors.ts';

/** The pricing service's error codes (one registry, as platform/errors.ts asks of every component). */
export const PricingErrors = {
  configInvalid: (detail: string, cause?: unknown) =>
    new StranglerError('PRICING_CONFIG_INVALID', `invalid pricing configuration: ${detail}`, {
      remedy: 'Fix the environment variable named above (PRICING_PORT, PRICING_DATABASE_URL, AMQP_URL, CDC_URL, …) and start again.',
      cause,
    }),
  rowInvalid: (table: string, detail: string, cause?: unknown) =>
    new StranglerError('PRICING_ROW_INVALID', `a change to ${table} does not have the expected shape: ${detail}`, {
      remedy: 'Look at the dead-lettered message in pricing.cdc.dead; if the legacy schema changed, update extracted/pricing/sync/change-applier.ts, then move the message back.',
      cause,
    }),
  tableNotFollowed: (table: string) =>
    new StranglerError('PRICING_TABLE_NOT_FOLLOWED', `the pricing service received a change to ${table}, which it does not follow`, {
      remedy: 'Check the bindings of the pricing.cdc queue: only the tables listed in extracted/pricing/sync/change-applier.ts should be bound.',
    }),
  brokerUnavailable: (cause: unknown) =>
    new StranglerError('PRICING_BROKER_UNAVAILABLE', `cannot follow the CDC queue on RabbitMQ (AMQP_URL): ${messageOf(cause)}`, {
      remedy: 'Check that RabbitMQ runs and that AMQP_URL (host, port, user, password, vhost) is right, then start the service again.',
      cause,
    }),
  storeUnavailable: (cause: unknown) =>
    new StranglerError('PRICING_STORE_UNAVAILABLE', `the pricing store (PRICING_DATABASE_URL) cannot be reached or migrated: ${messageOf(cause)}`, {
      remedy: 'Check that the pricing database runs and that PRICING_DATABASE_URL is right.',
      status: 503,
      cause,
    }),
} as const;
