import { StranglerError } from '../platform/errors.ts';

/** Where in routes.yaml a problem sits; 1-based like an editor shows it. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

export interface RoutesProblem extends SourcePosition {
  readonly message: string;
  /** The dotted path of the offending field, e.g. `routes.2.target`. */
  readonly field: string;
}

/**
 * A routes.yaml that cannot become the live table. It carries every problem found (not just the
 * first) so an operator fixes the file in one pass; `line`/`column` are those of the first.
 */
export class RoutesInvalidError extends StranglerError {
  readonly problems: readonly RoutesProblem[];
  readonly file: string;
  readonly line: number;
  readonly column: number;

  constructor(file: string, problems: readonly RoutesProblem[]) {
    const first = problems[0] ?? { line: 1, column: 1, message: 'invalid', field: '' };
    super('PROXY_ROUTES_INVALID', `${file}:${first.line}:${first.column}: ${first.message}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}`, {
      remedy: 'Fix the line shown (run `npx strangler routes check` to see every problem); the last good route table keeps serving meanwhile.',
    });
    this.problems = problems;
    this.file = file;
    this.line = first.line;
    this.column = first.column;
  }
}

/**
 * The three ways an upstream can fail a request, like @fastify/reply-from: 502 (it answered
 * badly or not at all), 503 (we refuse to try: its circuit is open), 504 (it was too slow).
 * Each carries the `cause` so the log line says what really happened.
 */
export const ProxyErrors = {
  routesUnreadable: (file: string, cause: unknown) =>
    new StranglerError('PROXY_ROUTES_UNREADABLE', `cannot read the routes file ${file}: ${cause instanceof Error ? cause.message : String(cause)}`, {
      remedy: 'Check ROUTES_FILE points at a readable routes.yaml (the default is ./routes.yaml in the working directory).',
      cause,
    }),
  badGateway: (upstream: string, cause: unknown) =>
    new StranglerError('PROXY_BAD_GATEWAY', `upstream "${upstream}" failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
      remedy: `Check that the "${upstream}" service runs and listens on the URL in routes.yaml, or add \`fallback: legacy\` to the route.`,
      status: 502,
      cause,
    }),
  serviceUnavailable: (upstream: string) =>
    new StranglerError('PROXY_CIRCUIT_OPEN', `upstream "${upstream}" is failing; its circuit is open`, {
      remedy: `Look at the "${upstream}" service's health; the proxy probes it again shortly and closes the circuit once it answers.`,
      status: 503,
    }),
  gatewayTimeout: (upstream: string, timeoutMs: number, cause?: unknown) =>
    new StranglerError('PROXY_GATEWAY_TIMEOUT', `upstream "${upstream}" did not answer within ${timeoutMs} ms`, {
      remedy: `Make the "${upstream}" service faster or raise its timeoutMs in routes.yaml.`,
      status: 504,
      cause,
    }),
  adminTokenMissing: () =>
    new StranglerError('PROXY_ADMIN_TOKEN_MISSING', 'STRANGLER_ADMIN_TOKEN is not set, so the admin API stays closed (proxying works)', {
      remedy: 'Set STRANGLER_ADMIN_TOKEN to a long random value (e.g. `export STRANGLER_ADMIN_TOKEN=$(openssl rand -hex 24)`) or start the stack with `npm start`, which generates one.',
    }),
  adminUnreachable: (url: string, cause: unknown) =>
    new StranglerError('PROXY_ADMIN_UNREACHABLE', `cannot reach the proxy admin API at ${url}: ${cause instanceof Error ? cause.message : String(cause)}`, {
      remedy: 'Start the stack (`npm start`) or the proxy, and check ADMIN_PORT.',
      cause,
    }),
  adminUnauthorized: (url: string) =>
    new StranglerError('PROXY_ADMIN_UNAUTHORIZED', `the proxy admin API at ${url} refused the token`, {
      remedy: 'Use the token the proxy was started with: set STRANGLER_ADMIN_TOKEN, or keep DATA_DIR pointing at the directory holding admin-token.',
      status: 401,
    }),
} as const;
