import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echo, routesFor, send, startProxy, startUpstream, type TestProxy, type TestUpstream } from '../test-kit.ts';

async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - started;
}

describe('watching routes.yaml', () => {
  let legacy: TestUpstream;
  let pim: TestUpstream;
  const table = (mode: 'legacy' | 'extracted') => routesFor({ legacy: legacy.url, pim: pim.url }, `  - id: product\n    match: { path: "/rest/V1/products/:sku" }\n    mode: ${mode}\n    target: ${mode === 'legacy' ? 'legacy' : 'pim'}\n`);
  const servedBy = async (proxy: TestProxy) => JSON.parse((await send(`${proxy.url}/rest/V1/products/A`)).body).upstream as string;

  beforeAll(async () => {
    legacy = await startUpstream(echo('legacy'));
    pim = await startUpstream(echo('pim'));
  });
  afterAll(async () => {
    await Promise.all([legacy.close(), pim.close()]);
  });

  it('an edit in place moves the endpoint within one second', async () => {
    const proxy = await startProxy(table('legacy'), { watch: true });
    try {
      proxy.writeRoutes(table('extracted'));
      expect(await within(1000, async () => (await servedBy(proxy)) === 'pim')).toBeLessThan(1000);
    } finally {
      await proxy.close();
    }
  });

  it('an editor that writes a new file and renames it over the old one is followed, again and again', async () => {
    const proxy = await startProxy(table('legacy'), { watch: true });
    try {
      for (const mode of ['extracted', 'legacy', 'extracted'] as const) {
        const temporary = join(proxy.dir, '.routes.yaml.swp');
        writeFileSync(temporary, table(mode));
        renameSync(temporary, proxy.routesFile);
        await within(1000, async () => (await servedBy(proxy)) === (mode === 'legacy' ? 'legacy' : 'pim'));
      }
    } finally {
      await proxy.close();
    }
  });

  it('a Kubernetes ConfigMap style symlink swap (..data → new directory) is picked up', async () => {
    // /config/routes.yaml → ..data/routes.yaml, ..data → ..2026_01_01_v1; kubelet swaps ..data atomically.
    const holder = await startProxy(table('legacy'));
    const config = join(holder.dir, 'config');
    mkdirSync(join(config, '..v1'), { recursive: true });
    writeFileSync(join(config, '..v1', 'routes.yaml'), table('legacy'));
    symlinkSync('..v1', join(config, '..data'));
    symlinkSync('..data/routes.yaml', join(config, 'routes.yaml'));
    const proxy = await startProxy('', { routesFile: join(config, 'routes.yaml'), watch: true });
    try {
      expect(await servedBy(proxy)).toBe('legacy');
      mkdirSync(join(config, '..v2'));
      writeFileSync(join(config, '..v2', 'routes.yaml'), table('extracted'));
      symlinkSync('..v2', join(config, '..data_tmp'));
      renameSync(join(config, '..data_tmp'), join(config, '..data'));
      await within(1000, async () => (await servedBy(proxy)) === 'pim');
    } finally {
      await proxy.close();
      await holder.close();
    }
  });
});
