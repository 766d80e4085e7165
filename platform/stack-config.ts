import path from 'node:path';
import { z } from 'zod';
import { captureOptionsOf, type CaptureOptions } from './capture-options.ts';
import { PlatformErrors } from './errors.ts';

/**
 * The configuration of the whole stack as `strangler up` (`npm start`) sees it, parsed once from
 * the environment into a frozen value. The launcher hands each process the parts it needs through
 * that process's own environment (see `childEnvironment` in stack-launcher.ts).
 */
export interface StackConfig {
  readonly dataDir: string;
  readonly pgPort: number;
  /** External servers; when the legacy one is absent the launcher starts the embedded PostgreSQL. */
  readonly legacyDatabaseUrl: string | undefined;
  readonly pricingDatabaseUrl: string | undefined;
  readonly pimDatabaseUrl: string | undefined;
  readonly amqpUrl: string;
  readonly elasticsearchUrl: string | undefined;
  readonly seedProducts: number;
  readonly ports: Readonly<Record<PortVariable, number>>;
  readonly routesFile: string;
  /** Undefined means: generate one (or reuse the one kept under DATA_DIR). */
  readonly adminToken: string | undefined;
  readonly logLevel: string;
  /**
   * The CDC bridge's slot, publication and tables when set (CDC_SLOT, CDC_PUBLICATION, CDC_TABLES):
   * the launcher must prepare the very slot the bridge will read, before the seed.
   */
  readonly capture: CaptureOptions;
}

export const PORT_VARIABLES = ['PROXY_PORT', 'LEGACY_PORT', 'PRICING_PORT', 'PIM_PORT', 'CDC_PORT', 'ADMIN_PORT'] as const;
export type PortVariable = (typeof PORT_VARIABLES)[number];

const port = (fallback: number) => z.coerce.number().int().min(1).max(65_535).default(fallback);
// An empty variable (`FOO= npm start`) means "not set", as a shell user expects.
const optionalText = z.preprocess((value) => (value === '' ? undefined : value), z.string().optional());
const databaseUrl = z.preprocess(
  (value) => (value === '' ? undefined : value),
  z
    .string()
    .refine((value) => /^postgres(ql)?:\/\//.test(value), 'must be a postgres:// or postgresql:// URL')
    .optional(),
);

const environmentSchema = z.object({
  DATA_DIR: optionalText.default('.data'),
  PG_PORT: port(5433),
  LEGACY_DATABASE_URL: databaseUrl,
  PRICING_DATABASE_URL: databaseUrl,
  PIM_DATABASE_URL: databaseUrl,
  AMQP_URL: z.preprocess(
    (value) => (value === '' ? undefined : value),
    z
      .string()
      .refine((value) => /^amqps?:\/\//.test(value), 'must be an amqp:// or amqps:// URL')
      .default('amqp://guest:guest@127.0.0.1:5672'),
  ),
  ELASTICSEARCH_URL: optionalText,
  SEED_PRODUCTS: z.coerce.number().int().min(0).max(10_000_000).default(2000),
  PROXY_PORT: port(8080),
  LEGACY_PORT: port(8081),
  PRICING_PORT: port(8082),
  PIM_PORT: port(8083),
  CDC_PORT: port(8084),
  ADMIN_PORT: port(8090),
  ROUTES_FILE: optionalText.default('./routes.yaml'),
  STRANGLER_ADMIN_TOKEN: optionalText,
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  CDC_SLOT: optionalText,
  CDC_PUBLICATION: optionalText,
  CDC_TABLES: optionalText,
});

/** The variables `strangler up` reads, with their defaults, for `--help` and the README. */
export const STACK_VARIABLES: ReadonlyArray<{ name: string; fallback: string; meaning: string }> = [
  { name: 'DATA_DIR', fallback: '.data', meaning: 'embedded PostgreSQL data and the admin token' },
  { name: 'PG_PORT', fallback: '5433', meaning: 'port of the embedded PostgreSQL' },
  { name: 'LEGACY_DATABASE_URL', fallback: '(embedded)', meaning: 'an external legacy database (wal_level=logical)' },
  { name: 'PRICING_DATABASE_URL', fallback: '(embedded)', meaning: "the pricing service's database" },
  { name: 'PIM_DATABASE_URL', fallback: '(embedded)', meaning: "the PIM service's database" },
  { name: 'AMQP_URL', fallback: 'amqp://guest:guest@127.0.0.1:5672', meaning: 'RabbitMQ' },
  { name: 'ELASTICSEARCH_URL', fallback: '(unset)', meaning: 'Elasticsearch, passed on to the services' },
  { name: 'SEED_PRODUCTS', fallback: '2000', meaning: 'products seeded on first start' },
  { name: 'PROXY_PORT', fallback: '8080', meaning: 'the strangler proxy (the shop as customers see it)' },
  { name: 'LEGACY_PORT', fallback: '8081', meaning: 'the legacy monolith' },
  { name: 'PRICING_PORT', fallback: '8082', meaning: 'the extracted pricing service' },
  { name: 'PIM_PORT', fallback: '8083', meaning: 'the extracted PIM service' },
  { name: 'CDC_PORT', fallback: '8084', meaning: "the CDC bridge's health and metrics" },
  { name: 'ADMIN_PORT', fallback: '8090', meaning: "the proxy's admin API (127.0.0.1 only)" },
  { name: 'ROUTES_FILE', fallback: './routes.yaml', meaning: 'the route table the proxy follows' },
  { name: 'STRANGLER_ADMIN_TOKEN', fallback: '(generated)', meaning: 'bearer token of the admin API' },
  { name: 'LOG_LEVEL', fallback: 'info', meaning: 'fatal, error, warn, info, debug, trace or silent' },
  { name: 'CDC_SLOT', fallback: 'strangler_cdc', meaning: 'replication slot made before the seed (as the CDC bridge reads it)' },
  { name: 'CDC_PUBLICATION', fallback: 'strangler_pub', meaning: 'publication made before the seed' },
  { name: 'CDC_TABLES', fallback: '(the catalog)', meaning: 'tables the publication captures, comma-separated' },
];

/**
 * Parses the environment (plus command-line overrides, which win) into a StackConfig.
 * Relative paths are resolved against `cwd` so that child processes see absolute ones.
 */
export function parseStackConfig(
  env: Record<string, string | undefined>,
  options: { cwd: string; overrides?: { dataDir?: string; seedProducts?: number } },
): StackConfig {
  const parsed = environmentSchema.safeParse(env);
  if (!parsed.success) {
    const detail = parsed.error.issues
      .map((issue) => `${issue.path.join('.')}=${JSON.stringify(env[String(issue.path[0])] ?? '')}: ${issue.message}`)
      .join('; ');
    throw PlatformErrors.configInvalid(detail, parsed.error);
  }
  const value = parsed.data;
  const ports = Object.freeze({
    PROXY_PORT: value.PROXY_PORT,
    LEGACY_PORT: value.LEGACY_PORT,
    PRICING_PORT: value.PRICING_PORT,
    PIM_PORT: value.PIM_PORT,
    CDC_PORT: value.CDC_PORT,
    ADMIN_PORT: value.ADMIN_PORT,
  });
  const byPort = new Map<number, string>([[value.PG_PORT, 'PG_PORT']]);
  for (const [name, number] of Object.entries(ports)) {
    const other = byPort.get(number);
    if (other) throw PlatformErrors.configInvalid(`${name} and ${other} are both ${number}; every process needs its own port`);
    byPort.set(number, name);
  }
  const seedProducts = options.overrides?.seedProducts ?? value.SEED_PRODUCTS;
  if (!Number.isInteger(seedProducts) || seedProducts < 0) {
    throw PlatformErrors.configInvalid(`the number of products must be a whole number ≥ 0, got ${seedProducts}`);
  }
  return Object.freeze({
    dataDir: path.resolve(options.cwd, options.overrides?.dataDir ?? value.DATA_DIR),
    pgPort: value.PG_PORT,
    legacyDatabaseUrl: value.LEGACY_DATABASE_URL,
    pricingDatabaseUrl: value.PRICING_DATABASE_URL,
    pimDatabaseUrl: value.PIM_DATABASE_URL,
    amqpUrl: value.AMQP_URL,
    elasticsearchUrl: value.ELASTICSEARCH_URL,
    seedProducts,
    ports,
    routesFile: path.resolve(options.cwd, value.ROUTES_FILE),
    adminToken: value.STRANGLER_ADMIN_TOKEN,
    logLevel: value.LOG_LEVEL,
    capture: captureOptionsOf(value),
  });
}
