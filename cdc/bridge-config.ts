import { z } from 'zod';
import { CdcErrors } from './errors.ts';
import { DEFAULT_PUBLICATION, DEFAULT_SLOT, parseTableList } from './capture-table.ts';
import { DEFAULT_TOPOLOGY } from './publish/publisher.ts';
import { SIGNAL_QUEUE } from './snapshot/snapshot-protocol.ts';

const nameRule = z.string().min(1).max(200).regex(/^[A-Za-z0-9_.\-:]+$/, 'letters, digits, _ . - : only');
const slotRule = z.string().min(1).max(63).regex(/^[a-z0-9_]+$/, 'lower-case letters, digits and _ only (a PostgreSQL slot name)');

export const bridgeConfigSchema = z.object({
  databaseUrl: z.string().min(1),
  amqpUrl: z.string().min(1),
  serverName: z.string().min(1).max(100).regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a letter or _ followed by letters, digits or _ (Debezium topic.prefix rules)').default('legacy'),
  tables: z.array(z.string().min(1)).min(1),
  publication: z.string().min(1).max(63).default(DEFAULT_PUBLICATION),
  slot: slotRule.default(DEFAULT_SLOT),
  replicaIdentityFull: z.boolean().default(true),
  exchange: nameRule.default(DEFAULT_TOPOLOGY.exchange),
  streamQueue: nameRule.default(DEFAULT_TOPOLOGY.streamQueue),
  streamMaxAge: z.string().regex(/^(\d+[YMDhms])?$/, 'RabbitMQ x-max-age syntax such as 7D or 24h').default(DEFAULT_TOPOLOGY.streamMaxAge),
  streamMaxLengthBytes: z.number().int().nonnegative().default(DEFAULT_TOPOLOGY.streamMaxLengthBytes),
  /** Advisory lock name; default `strangler-cdc:<slot>`. */
  lockName: z.string().min(1).optional(),
  transactionMetadata: z.boolean().default(true),
  heartbeatIntervalMs: z.number().int().positive().default(10_000),
  retainedWalWarningBytes: z.number().int().positive().default(1024 * 1024 * 1024),
  standbyPollMs: z.number().int().positive().default(1000),
  flushIntervalMs: z.number().int().positive().default(100),
  /** Events published but not yet confirmed before reading pauses. */
  maxInFlight: z.number().int().positive().default(5000),
  backoffInitialMs: z.number().int().positive().default(250),
  backoffMaxMs: z.number().int().positive().default(10_000),
  /** Name of the AMQP connection as RabbitMQ lists it. */
  connectionName: z.string().min(1).optional(),
  /** Rows per incremental-snapshot chunk (between one low and high watermark) unless a request says otherwise. */
  snapshotChunkSize: z.number().int().positive().max(100_000).default(4096),
  /** Durable queue through which services request snapshots (tests use one per bridge). */
  signalQueue: nameRule.default(SIGNAL_QUEUE),
  /** Rows per snapshot batch message. */
  snapshotBatchRows: z.number().int().positive().max(10_000).default(500),
});

export type BridgeConfigInput = z.input<typeof bridgeConfigSchema>;
export type BridgeConfig = Readonly<z.output<typeof bridgeConfigSchema> & { lockName: string; connectionName: string }>;

export function parseBridgeConfig(input: BridgeConfigInput): BridgeConfig {
  const result = bridgeConfigSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw CdcErrors.configInvalid(`${issue?.path.join('.') || 'config'}: ${issue?.message ?? 'invalid'}`, result.error);
  }
  const config = result.data;
  return Object.freeze({
    ...config,
    tables: Object.freeze([...config.tables]) as string[],
    lockName: config.lockName ?? `strangler-cdc:${config.slot}`,
    connectionName: config.connectionName ?? `strangler-cdc:${config.serverName}:${config.slot}`,
  });
}

/** The bridge's configuration from the environment (called by cdc/main.ts only). */
export function bridgeConfigFromEnv(env: NodeJS.ProcessEnv): BridgeConfig {
  const number = (name: string): number | undefined => {
    const text = env[name];
    if (text === undefined || text === '') return undefined;
    const value = Number(text);
    if (!Number.isFinite(value)) throw CdcErrors.configInvalid(`${name} must be a number, got ${JSON.stringify(text)}`);
    return value;
  };
  const flag = (name: string): boolean | undefined => {
    const text = env[name];
    if (text === undefined || text === '') return undefined;
    if (/^(1|true|yes|on)$/i.test(text)) return true;
    if (/^(0|false|no|off)$/i.test(text)) return false;
    throw CdcErrors.configInvalid(`${name} must be true or false, got ${JSON.stringify(text)}`);
  };
  if (!env.LEGACY_DATABASE_URL) throw CdcErrors.configInvalid('LEGACY_DATABASE_URL is not set');
  const input: Record<string, unknown> = {
    databaseUrl: env.LEGACY_DATABASE_URL,
    amqpUrl: env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672',
    serverName: env.CDC_SERVER_NAME || undefined,
    tables: parseTableList(env.CDC_TABLES),
    publication: env.CDC_PUBLICATION || undefined,
    slot: env.CDC_SLOT || undefined,
    replicaIdentityFull: flag('CDC_REPLICA_IDENTITY_FULL'),
    exchange: env.CDC_EXCHANGE || undefined,
    streamQueue: env.CDC_STREAM || undefined,
    streamMaxAge: env.CDC_STREAM_MAX_AGE,
    streamMaxLengthBytes: number('CDC_STREAM_MAX_BYTES'),
    lockName: env.CDC_LOCK_NAME || undefined,
    transactionMetadata: flag('CDC_TRANSACTION_METADATA'),
    heartbeatIntervalMs: number('CDC_HEARTBEAT_MS'),
    retainedWalWarningBytes: number('CDC_RETAINED_WAL_WARNING_BYTES'),
    maxInFlight: number('CDC_MAX_IN_FLIGHT'),
    standbyPollMs: number('CDC_STANDBY_POLL_MS'),
    backoffMaxMs: number('CDC_BACKOFF_MAX_MS'),
    connectionName: env.CDC_CONNECTION_NAME || undefined,
    snapshotChunkSize: number('CDC_SNAPSHOT_CHUNK_SIZE'),
    signalQueue: env.CDC_SIGNAL_QUEUE || undefined,
  };
  for (const key of Object.keys(input)) if (input[key] === undefined) delete input[key];
  return parseBridgeConfig(input as BridgeConfigInput);
}
