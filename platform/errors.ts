/**
 * The error every component throws for a condition an operator or a client can act on.
 * Like fastify's FST_ERR_* registry, each error has a stable `code`, an HTTP status where one
 * applies, the `cause`, and a `remedy`: one sentence that says what to do about it.
 */
export class StranglerError extends Error {
  readonly code: string;
  readonly status: number | undefined;
  readonly remedy: string;

  constructor(code: string, message: string, options: { remedy: string; status?: number; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StranglerError';
    this.code = code;
    this.status = options.status;
    this.remedy = options.remedy;
  }

  /** The message with its remedy, for a terminal or a log line read by a person. */
  explain(): string {
    return `${this.code}: ${this.message}\n  → ${this.remedy}`;
  }
}

/** The codes the platform itself raises; each component keeps its own in its errors.ts. */
export const PlatformErrors = {
  configInvalid: (detail: string, cause?: unknown) =>
    new StranglerError('PLATFORM_CONFIG_INVALID', `invalid configuration: ${detail}`, {
      remedy: 'Fix the environment variable named above (see "Environment variables" in the README) and start again.',
      cause,
    }),
  walLevelNotLogical: (url: string, actual: string) =>
    new StranglerError('PLATFORM_WAL_LEVEL', `the legacy database at ${redactUrl(url)} has wal_level=${actual}, but change data capture needs wal_level=logical`, {
      remedy: "Run ALTER SYSTEM SET wal_level = 'logical' on that server and restart it, or unset LEGACY_DATABASE_URL to use the embedded PostgreSQL.",
    }),
  databaseUnreachable: (url: string, cause: unknown) =>
    new StranglerError('PLATFORM_DATABASE_UNREACHABLE', `cannot connect to PostgreSQL at ${redactUrl(url)}: ${messageOf(cause)}`, {
      remedy: 'Check that the server runs and that the URL (host, port, user, password, database) is right.',
      cause,
    }),
  embeddedPostgresFailed: (detail: string, cause?: unknown) =>
    new StranglerError('PLATFORM_EMBEDDED_POSTGRES', `the embedded PostgreSQL could not start: ${detail}`, {
      remedy: 'Look at the PostgreSQL log lines above; if the data directory is damaged, stop the stack and delete DATA_DIR/postgres to start afresh.',
      cause,
    }),
} as const;

export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** A connection URL with its password replaced, safe for logs and error messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}
