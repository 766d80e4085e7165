import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseRouteTable } from '../proxy/routes/route-table.ts';
import { variablesInRoutesFile, variablesRead } from './support/environment-reads.ts';

// docker-compose.yml cannot be started here (no Docker engine), so it is checked the way a
// reviewer would: every service's environment matches what its code reads, and images, ports,
// healthchecks and depends_on fit together.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: string[];
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  volumes?: string[];
  restart?: string;
  /** Variables the code reads whose defaults fit a compose run: documented, deliberately unset. */
  'x-optional-env'?: string[];
}

interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const compose = parse(readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8')) as ComposeFile;
const services = Object.entries(compose.services);
const built = services.filter(([, service]) => service.build !== undefined);

/** `strangler <command> …` services: the command's file is where its environment is read. */
const CLI_COMMAND_FILES: Record<string, string> = { db: 'cli/db-commands.ts', up: 'cli/up-command.ts' };

function commandOf(service: ComposeService): string[] {
  if (Array.isArray(service.command)) return service.command;
  if (typeof service.command === 'string') return service.command.split(/\s+/);
  return [];
}

/** The file whose import tree reads the service's environment. */
function entryOf(service: ComposeService): string {
  const command = commandOf(service);
  const script = command.find((part) => part.endsWith('.ts'));
  if (script) return script;
  const cli = command.indexOf('bin/strangler.js');
  if (cli >= 0) {
    const file = CLI_COMMAND_FILES[command[cli + 1] ?? ''];
    if (file) return file;
  }
  throw new Error(`cannot tell which code the command ${JSON.stringify(command)} runs`);
}

function environmentOf(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry) => [entry.split('=')[0] ?? entry, entry.split('=').slice(1).join('=')]));
  }
  return Object.fromEntries(Object.entries(env).map(([name, value]) => [name, String(value ?? '')]));
}

function hostPort(mapping: string): string {
  const parts = mapping.split(':');
  return parts.length >= 2 ? (parts[parts.length - 2] as string) : (parts[0] as string);
}

function containerPort(mapping: string): string {
  return (mapping.split(':').pop() as string).split('/')[0] as string;
}

describe('docker-compose.yml', () => {
  it('runs PostgreSQL from an official image with logical replication and the three databases', () => {
    const postgres = compose.services.postgres;
    expect(postgres?.image).toMatch(/^postgres:\d+/);
    expect(commandOf(postgres ?? {}).join(' ')).toContain('wal_level=logical');
    expect(commandOf(postgres ?? {}).join(' ')).toMatch(/max_replication_slots=\d+/);
    const init = (postgres?.volumes ?? []).find((volume) => volume.includes('/docker-entrypoint-initdb.d'));
    expect(init, 'an init script mounted into /docker-entrypoint-initdb.d').toBeDefined();
    const script = readFileSync(path.join(ROOT, (init as string).split(':')[0] as string), 'utf8');
    for (const database of ['legacy', 'pricing', 'pim']) expect(script).toMatch(new RegExp(`CREATE DATABASE ${database}\\b`));
  });

  it('runs RabbitMQ with the management plugin and a single-node Elasticsearch without security', () => {
    expect(compose.services.rabbitmq?.image).toMatch(/^rabbitmq:3[.\d]*-management$/);
    const elasticsearch = compose.services.elasticsearch;
    expect(elasticsearch?.image).toMatch(/elasticsearch:8\.\d+\.\d+$/);
    const env = environmentOf(elasticsearch ?? {});
    expect(env['discovery.type']).toBe('single-node');
    expect(env['xpack.security.enabled']).toBe('false');
  });

  it('pins every image to a version, never latest', () => {
    for (const [name, service] of services) {
      if (!service.image) continue;
      expect(service.image, name).toMatch(/:[\w.-]+$/);
      expect(service.image, name).not.toMatch(/:latest$/);
    }
  });

  it.each(built.map(([name, service]) => [name, service] as const))(
    'when the %s service starts, its environment is exactly what its code reads',
    (_name, service) => {
      const entry = entryOf(service);
      expect(existsSync(path.join(ROOT, entry)), `${entry} exists`).toBe(true);
      const env = environmentOf(service);
      const read = variablesRead(entry);
      if (env.ROUTES_FILE) for (const name of variablesInRoutesFile(env.ROUTES_FILE)) read.add(name);
      const declared = [...Object.keys(env), ...(service['x-optional-env'] ?? [])].sort();
      expect(declared).toEqual([...read].sort());
    },
  );

  it('every depends_on names a service, waits for health only where there is a healthcheck, and for one-shot jobs to finish', () => {
    for (const [name, service] of services) {
      const dependencies: Record<string, { condition?: string }> = Array.isArray(service.depends_on)
        ? Object.fromEntries(service.depends_on.map((dependency) => [dependency, {}]))
        : (service.depends_on ?? {});
      for (const [dependency, { condition }] of Object.entries(dependencies)) {
        const target = compose.services[dependency];
        expect(target, `${name} depends on ${dependency}`).toBeDefined();
        if (condition === 'service_healthy') expect(target?.healthcheck?.test, `${dependency} has a healthcheck`).toBeDefined();
        if (condition === 'service_completed_successfully') expect([undefined, 'no']).toContain(target?.restart);
      }
    }
  });

  it('gives every long-running service a healthcheck and every published port to one service only', () => {
    const published = new Map<string, string>();
    for (const [name, service] of services) {
      if (service.restart !== 'no') expect(service.healthcheck?.test, `${name} has a healthcheck`).toBeDefined();
      for (const mapping of service.ports ?? []) {
        const port = hostPort(mapping);
        expect(published.get(port), `host port ${port} of ${name}`).toBeUndefined();
        published.set(port, name);
      }
    }
  });

  it('publishes each Node service on the port its *_PORT variable sets, and its healthcheck asks that port', () => {
    for (const [name, service] of built) {
      const env = environmentOf(service);
      const listening = Object.entries(env)
        .filter(([variable]) => variable.endsWith('_PORT'))
        .map(([, value]) => value);
      for (const mapping of service.ports ?? []) expect(listening, `${name} publishes ${mapping}`).toContain(containerPort(mapping));
      const test = [service.healthcheck?.test ?? []].flat().join(' ');
      if (service.restart !== 'no') expect(listening.some((port) => test.includes(`:${port}/`)), `${name}'s healthcheck`).toBe(true);
    }
  });

  it("gives the proxy a routes file with exactly the repository's routes, its upstreams reached by service name", () => {
    const proxy = compose.services.proxy;
    expect(proxy, 'a proxy service').toBeDefined();
    const file = environmentOf(proxy ?? {}).ROUTES_FILE as string;
    // The proxy itself accepts it (as `strangler routes check` would).
    expect(() => parseRouteTable(readFileSync(path.join(ROOT, file), 'utf8'), { file, env: {} })).not.toThrow();
    const dockerRoutes = parse(readFileSync(path.join(ROOT, file), 'utf8')) as { upstreams: Record<string, { url: string }>; routes: unknown };
    const routes = parse(readFileSync(path.join(ROOT, 'routes.yaml'), 'utf8')) as { upstreams: Record<string, unknown>; routes: unknown };
    expect(dockerRoutes.routes).toEqual(routes.routes);
    expect(Object.keys(dockerRoutes.upstreams).sort()).toEqual(Object.keys(routes.upstreams).sort());
    for (const [name, upstream] of Object.entries(dockerRoutes.upstreams)) {
      expect(upstream.url).toMatch(new RegExp(`^http://${name}:\\d+$`));
      // The proxy container reaches the other containers by name, on the port they listen on.
      const target = compose.services[name];
      if (target) expect(Object.values(environmentOf(target))).toContain(new URL(upstream.url).port);
    }
    // The mount makes a live edit reach the running proxy.
    expect((proxy?.volumes ?? []).some((volume) => file.startsWith(volume.split(':')[1]?.replace(/^\/app\//, '') ?? '\0'))).toBe(true);
  });

  it('declares the named volumes it mounts', () => {
    for (const [, service] of services) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0] as string;
        if (source.startsWith('.') || source.startsWith('/')) expect(existsSync(path.join(ROOT, source)), source).toBe(true);
        else expect(Object.keys(compose.volumes ?? {})).toContain(source);
      }
    }
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const instructions = dockerfile
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));

  it('builds on a slim Node 20 image with a clean, locked install', () => {
    expect(instructions[0]).toMatch(/^FROM node:20[\w.-]*-slim\b/);
    expect(dockerfile).toMatch(/RUN npm ci\b/);
  });

  it('runs as a non-root user', () => {
    const users = instructions.filter((line) => line.startsWith('USER '));
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^USER\s+(root|0)(:|$)/);
  });

  it('keeps local state and secrets out of the build context', () => {
    const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['node_modules', '.data', '.git']) expect(ignored).toContain(entry);
  });
});
