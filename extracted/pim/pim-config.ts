import { z } from 'zod';
import { PimErrors } from './errors.ts';
import { SIGNAL_QUEUE } from '../../cdc/snapshot/snapshot-protocol.ts';

/** The PIM's configuration, parsed once from the environment by main.ts. */
export interface PimConfig {
  readonly port: number;
  readonly databaseUrl: string;
  readonly amqpUrl: string;
  /** Set: documents live in Elasticsearch; unset: in PostgreSQL (the pim database). */
  readonly elasticsearchUrl: string | undefined;
  readonly elasticsearchIndex: string;
  readonly queue: string;
  readonly exchange: string;
  /** The bridge's signal queue, through which an empty store requests its snapshot. */
  readonly signalQueue: string;
  readonly serverName: string;
  readonly bridgeHealthUrl: string | undefined;
  readonly logLevel: string;
}

const url = (name: string) => z.string({ error: `${name} is required` }).url(`${name} must be a URL`);

const envSchema = z.object({
  PIM_PORT: z.coerce.number().int().min(0).max(65_535).default(8083),
  PIM_DATABASE_URL: url('PIM_DATABASE_URL'),
  AMQP_URL: url('AMQP_URL').default('amqp://guest:guest@127.0.0.1:5672'),
  ELASTICSEARCH_URL: url('ELASTICSEARCH_URL').optional(),
  PIM_ES_INDEX: z.string().regex(/^[a-z0-9_-]+$/, 'PIM_ES_INDEX must be lower-case letters, digits, - or _').default('pim-products'),
  PIM_QUEUE: z.string().min(1).default('pim.cdc'),
  CDC_EXCHANGE: z.string().min(1).default('legacy.cdc'),
  CDC_SIGNAL_QUEUE: z.string().min(1).default(SIGNAL_QUEUE),
  CDC_SERVER_NAME: z.string().min(1).default('legacy'),
  // The bridge's base URL, as for the proxy (the service reads `${CDC_URL}/healthz`,
  // cdc/health-server.ts); "off" disables the comparison. Unset: the bridge on this host at
  // CDC_PORT. A value ending in /healthz is the old meaning and is refused rather than doubled.
  CDC_URL: z
    .union([z.literal('off'), url('CDC_URL')])
    .refine((value) => !/\/healthz\/?$/.test(value), 'CDC_URL is the bridge\'s base URL (such as http://127.0.0.1:8084), without /healthz')
    .optional(),
  CDC_PORT: z.coerce.number().int().min(1).max(65_535).default(8084),
  LOG_LEVEL: z.string().default('info'),
});

export function parsePimConfig(env: Record<string, string | undefined>): PimConfig {
  const clean = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = envSchema.safeParse(clean);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw PimErrors.configInvalid(`${issue.path.join('.')}: ${issue.message}`, parsed.error);
  }
  const value = parsed.data;
  return Object.freeze({
    port: value.PIM_PORT,
    databaseUrl: value.PIM_DATABASE_URL,
    amqpUrl: value.AMQP_URL,
    elasticsearchUrl: value.ELASTICSEARCH_URL,
    elasticsearchIndex: value.PIM_ES_INDEX,
    queue: value.PIM_QUEUE,
    exchange: value.CDC_EXCHANGE,
    signalQueue: value.CDC_SIGNAL_QUEUE,
    serverName: value.CDC_SERVER_NAME,
    bridgeHealthUrl: value.CDC_URL === 'off' ? undefined : `${(value.CDC_URL ?? `http://127.0.0.1:${value.CDC_PORT}`).replace(/\/+$/, '')}/healthz`,
    logLevel: value.LOG_LEVEL,
  });
}
