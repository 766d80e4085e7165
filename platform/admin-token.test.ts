import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readAdminToken, resolveAdminToken } from './admin-token.ts';

describe('the admin token', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = path.join(await mkdtemp(path.join(tmpdir(), 'strangler-token-')), 'data');
  });
  afterEach(async () => {
    await rm(path.dirname(dataDir), { recursive: true, force: true });
  });

  it('when STRANGLER_ADMIN_TOKEN is unset, then a strong token is generated and kept under DATA_DIR, readable by its owner only', async () => {
    const token = await resolveAdminToken({ token: undefined, dataDir });
    expect(token.source).toBe('generated');
    expect(token.token).toMatch(/^[\w-]{43}$/);
    expect((await readFile(path.join(dataDir, 'admin-token'), 'utf8')).trim()).toBe(token.token);
    expect((await stat(token.file)).mode & 0o777).toBe(0o600);
  });

  it('when the stack starts again, then the kept token is reused, so the CLI and a copied token stay valid', async () => {
    const first = await resolveAdminToken({ token: undefined, dataDir });
    const second = await resolveAdminToken({ token: undefined, dataDir });
    expect(second).toMatchObject({ token: first.token, source: 'file' });
    expect(await readAdminToken({ token: undefined, dataDir })).toBe(first.token);
  });

  it('when the kept file became readable by others, then it is tightened back to 0600', async () => {
    const first = await resolveAdminToken({ token: undefined, dataDir });
    await writeFile(first.file, `${first.token}\n`, { mode: 0o644 });
    await import('node:fs/promises').then((fs) => fs.chmod(first.file, 0o644));
    await resolveAdminToken({ token: undefined, dataDir });
    expect((await stat(first.file)).mode & 0o777).toBe(0o600);
  });

  it('when STRANGLER_ADMIN_TOKEN is set, then it wins and nothing is written', async () => {
    const token = await resolveAdminToken({ token: 's3cret', dataDir });
    expect(token).toMatchObject({ token: 's3cret', source: 'env' });
    expect(await readAdminToken({ token: undefined, dataDir })).toBeUndefined();
    expect(await readAdminToken({ token: 'other', dataDir })).toBe('other');
  });
});
