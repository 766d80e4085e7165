import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Where `npm start` keeps the generated admin token, for the CLI to find. */
export function adminTokenFile(dataDir: string): string {
  return path.join(dataDir, 'admin-token');
}

export interface AdminToken {
  token: string;
  /** `env`: STRANGLER_ADMIN_TOKEN; `file`: kept from an earlier start; `generated`: new now. */
  source: 'env' | 'file' | 'generated';
  file: string;
}

/**
 * The token the proxy's admin API demands. STRANGLER_ADMIN_TOKEN wins; otherwise the one kept
 * under DATA_DIR is reused, so a token a person copied (or the CLI read) stays valid across
 * restarts; otherwise a new one is generated and written there, readable by its owner only.
 */
export async function resolveAdminToken(options: { token: string | undefined; dataDir: string }): Promise<AdminToken> {
  const file = adminTokenFile(options.dataDir);
  if (options.token) return { token: options.token, source: 'env', file };
  const kept = await readKeptToken(file);
  if (kept) {
    // A token file left readable by others (copied, restored from a backup) is tightened again.
    await chmod(file, 0o600);
    return { token: kept, source: 'file', file };
  }
  const token = randomBytes(32).toString('base64url');
  await mkdir(options.dataDir, { recursive: true });
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  // `mode` is subject to the umask and ignored when the file already existed (empty); be explicit.
  await chmod(file, 0o600);
  return { token, source: 'generated', file };
}

/** For the CLI: the environment first, then the file `npm start` wrote; undefined when neither. */
export async function readAdminToken(options: { token: string | undefined; dataDir: string }): Promise<string | undefined> {
  if (options.token) return options.token;
  return readKeptToken(adminTokenFile(options.dataDir));
}

async function readKeptToken(file: string): Promise<string | undefined> {
  try {
    const text = (await readFile(file, 'utf8')).trim();
    return text || undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
