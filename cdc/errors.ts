import { StranglerError, messageOf, redactUrl } from '../platform/errors.ts';

/**
 * The CDC bridge's error codes. Like Debezium, the bridge sorts failures into permanent ones
 * (a bad password, a missing permission, wal_level not logical: retrying cannot help, so it
 * stops at once and says what to change) and transient ones (a server restarting, a network
 * blip, a slot still held by a dying process), which it retries with backoff.
 */
export const CdcErrors = {
  configInvalid: (detail: string, cause?: unknown) =>
    new StranglerError('CDC_CONFIG_INVALID', `invalid CDC configuration: ${detail}`, {
      remedy: 'Fix the CDC_* environment variable named above and start the bridge again.',
      cause,
    }),
  authenticationFailed: (url: string, cause: unknown) =>
    new StranglerError('CDC_DATABASE_AUTH', `PostgreSQL at ${redactUrl(url)} refused the bridge's credentials: ${messageOf(cause)}`, {
      remedy: 'Correct the user and password in LEGACY_DATABASE_URL (and pg_hba.conf must allow the connection).',
      cause,
    }),
  databaseMissing: (url: string, cause: unknown) =>
    new StranglerError('CDC_DATABASE_MISSING', `the database in ${redactUrl(url)} does not exist: ${messageOf(cause)}`, {
      remedy: 'Point LEGACY_DATABASE_URL at the legacy database, or run `npm start` once so that it is created.',
      cause,
    }),
  permissionDenied: (detail: string, cause: unknown) =>
    new StranglerError('CDC_PERMISSION_DENIED', `the database user lacks a permission the bridge needs (${detail}): ${messageOf(cause)}`, {
      remedy: 'Grant the user REPLICATION (ALTER ROLE <user> REPLICATION), ownership of the captured tables (to set REPLICA IDENTITY) and CREATE on the database (for the publication), or run prepareCapture as a superuser.',
      cause,
    }),
  walLevelNotLogical: (actual: string) =>
    new StranglerError('CDC_WAL_LEVEL', `wal_level is ${actual}, but the bridge needs wal_level=logical`, {
      remedy: "Run ALTER SYSTEM SET wal_level = 'logical' and restart PostgreSQL.",
    }),
  tableMissing: (tables: string[]) =>
    new StranglerError('CDC_TABLE_MISSING', `tables to capture do not exist: ${tables.join(', ')}`, {
      remedy: 'Run the legacy schema migration first, or correct CDC_TABLES.',
    }),
  slotInUse: (slot: string, cause?: unknown) =>
    new StranglerError('CDC_SLOT_IN_USE', `replication slot ${slot} is in use by another connection`, {
      remedy: 'Another bridge streams from this slot; this one waits as standby. If none runs, the old connection will time out shortly.',
      cause,
    }),
  slotPluginMismatch: (slot: string, plugin: string) =>
    new StranglerError('CDC_SLOT_PLUGIN', `replication slot ${slot} exists but uses the ${plugin} plugin, not pgoutput`, {
      remedy: `Drop it (SELECT pg_drop_replication_slot('${slot}')) or set CDC_SLOT to another name.`,
    }),
  slotOtherDatabase: (slot: string, database: string, expected: string) =>
    new StranglerError('CDC_SLOT_OTHER_DATABASE', `replication slot ${slot} already exists for database ${database}, not ${expected}`, {
      remedy: `Set CDC_SLOT to another name, or, if that database no longer needs it, drop the old slot (SELECT pg_drop_replication_slot('${slot}')) — a logical slot only decodes the database it was created in.`,
    }),
  brokerAuthFailed: (url: string, cause: unknown) =>
    new StranglerError('CDC_BROKER_AUTH', `RabbitMQ at ${redactUrl(url)} refused the bridge's credentials or vhost: ${messageOf(cause)}`, {
      remedy: 'Correct the user, password and vhost in AMQP_URL.',
      cause,
    }),
  topologyMismatch: (cause: unknown) =>
    new StranglerError('CDC_TOPOLOGY_MISMATCH', `RabbitMQ refused the bridge's exchange or queue declaration: ${messageOf(cause)}`, {
      remedy: 'An exchange or queue of that name exists with other settings (type, durability): delete it, or set CDC_EXCHANGE / CDC_STREAM to other names.',
      cause,
    }),
  brokerNack: (messageId: string) =>
    new StranglerError('CDC_BROKER_NACK', `RabbitMQ refused (nacked) the event ${messageId}`, {
      remedy: 'Look at the RabbitMQ log (disk or memory alarm, queue limits); the bridge re-publishes from the last flushed LSN.',
    }),
  brokerConnectionLost: (cause: unknown) =>
    new StranglerError('CDC_BROKER_LOST', `lost the connection to RabbitMQ: ${messageOf(cause)}`, {
      remedy: 'The bridge reconnects with backoff and re-publishes what was not confirmed; check that RabbitMQ runs if this repeats.',
      cause,
    }),
  replicationLost: (cause: unknown) =>
    new StranglerError('CDC_REPLICATION_LOST', `lost the replication stream from PostgreSQL: ${messageOf(cause)}`, {
      remedy: 'The bridge reconnects with backoff and resumes from the slot; check that PostgreSQL runs if this repeats.',
      cause,
    }),
  messageInvalid: (detail: string, cause?: unknown) =>
    new StranglerError('CDC_MESSAGE_INVALID', `a CDC message does not match the change event schema: ${detail}`, {
      remedy: 'The message was dead-lettered; compare the producer and consumer versions of the event format.',
      cause,
    }),
} as const;

/** PostgreSQL SQLSTATEs after which a retry cannot succeed. */
const PERMANENT_SQLSTATES: Record<string, 'auth' | 'database' | 'permission'> = {
  '28P01': 'auth', // invalid_password
  '28000': 'auth', // invalid_authorization_specification (pg_hba)
  '3D000': 'database', // invalid_catalog_name
  '42501': 'permission', // insufficient_privilege
};

/** Turns what PostgreSQL threw into a permanent StranglerError, or undefined when it is transient. */
export function classifyDatabaseError(url: string, error: unknown): StranglerError | undefined {
  if (error instanceof StranglerError) return isPermanent(error) ? error : undefined;
  const code = (error as { code?: unknown } | null)?.code;
  const kind = typeof code === 'string' ? PERMANENT_SQLSTATES[code] : undefined;
  if (kind === 'auth') return CdcErrors.authenticationFailed(url, error);
  if (kind === 'database') return CdcErrors.databaseMissing(url, error);
  if (kind === 'permission') return CdcErrors.permissionDenied('replication or table ownership', error);
  if (/must be superuser or replication role|permission denied to start WAL sender/i.test(messageOf(error))) {
    return CdcErrors.permissionDenied('REPLICATION', error);
  }
  if (/logical decoding requires wal_level|wal_level >= logical/i.test(messageOf(error))) {
    return CdcErrors.walLevelNotLogical('below logical');
  }
  return undefined;
}

/** RabbitMQ's ACCESS_REFUSED (403) and NOT_ALLOWED (530, unknown vhost) cannot be retried away. */
export function classifyBrokerError(url: string, error: unknown): StranglerError | undefined {
  if (error instanceof StranglerError) return isPermanent(error) ? error : undefined;
  const text = messageOf(error);
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 403 || code === 530 || /ACCESS.REFUSED|NOT.ALLOWED/.test(text)) return CdcErrors.brokerAuthFailed(url, error);
  if (code === 406 || /PRECONDITION.FAILED/.test(text)) return CdcErrors.topologyMismatch(error);
  return undefined;
}

const PERMANENT_CODES = new Set([
  'CDC_CONFIG_INVALID',
  'CDC_DATABASE_AUTH',
  'CDC_DATABASE_MISSING',
  'CDC_PERMISSION_DENIED',
  'CDC_WAL_LEVEL',
  'CDC_TABLE_MISSING',
  'CDC_SLOT_PLUGIN',
  'CDC_SLOT_OTHER_DATABASE',
  'CDC_BROKER_AUTH',
  'CDC_TOPOLOGY_MISMATCH',
]);

export function isPermanent(error: unknown): boolean {
  return error instanceof StranglerError && PERMANENT_CODES.has(error.code);
}
