import { z } from 'zod';
import { PricingErrors } from './errors.ts';
import { SIGNAL_QUEUE } from '../../cdc/snapshot/snapshot-protocol.ts';

const port = z.coerce.number().int().min(0).max(65535);

export const pricingConfigSchema = z.object({
  PRICING_PORT: port.default(8082),
  PRICING_HOST: z.string().min(1).default('127.0.0.1'),
  PRICING_DATABASE_URL: z.string().min(1),
  AMQP_URL: z.string().min(1).default('amqp://guest:guest@127.0.0.1:5672'),
  /**
   * The bridge's base URL, as for the proxy (the service reads `${CDC_URL}/healthz`); default from
   * CDC_PORT. A value ending in /healthz is the old meaning and is refused rather than doubled.
   */
  CDC_URL: z.url().refine((value) => !/\/healthz\/?$/.test(value), 'is the bridge\'s base URL (such as http://127.0.0.1:8084), without /healthz').optional(),
  CDC_PORT: port.default(8084),
  CDC_EXCHANGE: z.string().min(1).default('legacy.cdc'),
  /** The bridge's signal queue, through which an empty store requests its snapshot. */
  CDC_SIGNAL_QUEUE: z.string().min(1).default(SIGNAL_QUEUE),
  CDC_SERVER_NAME: z.string().min(1).default('legacy'),
  PRICING_QUEUE: z.string().min(1).default('pricing.cdc'),
  PRICING_CACHE_TTL_SECONDS: z.coerce.number().int().positive().default(60),
  PRICING_POOL_SIZE: z.coerce.number().int().positive().default(10),
  PRICING_BROKER_WAIT_SECONDS: z.coerce.number().int().nonnegative().default(30),
  LOG_LEVEL: z.string().default('info'),
});

export interface PricingConfig {
  port: number;
  host: string;
  databaseUrl: string;
  amqpUrl: string;
  cdcHealthUrl: string;
  exchange: string;
  signalQueue: string;
  serverName: string;
  queue: string;
  cacheTtlSeconds: number;
  poolSize: number;
  /** How long to keep trying to reach RabbitMQ at start. */
  brokerWaitSeconds: number;
  logLevel: string;
}

/** The service's configuration from the environment (called by main.ts only); a bad value names its variable. */
export function pricingConfigFromEnv(env: Record<string, string | undefined>): Readonly<PricingConfig> {
  const input = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = pricingConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? 'environment');
    throw PricingErrors.configInvalid(issue?.code === 'invalid_type' && input[name] === undefined ? `${name} is not set` : `${name}: ${issue?.message ?? 'invalid'}`, parsed.error);
  }
  const value = parsed.data;
  return Object.freeze({
    port: value.PRICING_PORT,
    host: value.PRICING_HOST,
    databaseUrl: value.PRICING_DATABASE_URL,
    amqpUrl: value.AMQP_URL,
    cdcHealthUrl: `${(value.CDC_URL ?? `http://127.0.0.1:${value.CDC_PORT}`).replace(/\/+$/, '')}/healthz`,
    exchange: value.CDC_EXCHANGE,
    signalQueue: value.CDC_SIGNAL_QUEUE,
    serverName: value.CDC_SERVER_NAME,
    queue: value.PRICING_QUEUE,
    cacheTtlSeconds: value.PRICING_CACHE_TTL_SECONDS,
    poolSize: value.PRICING_POOL_SIZE,
    brokerWaitSeconds: value.PRICING_BROKER_WAIT_SECONDS,
    logLevel: value.LOG_LEVEL,
  });
}
