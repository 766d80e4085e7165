import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { STACK_PROCESSES } from '../platform/stack-launcher.ts';
import { variablesInRoutesFile, variablesRead } from './support/environment-reads.ts';

// Like fastify's test that every error code is documented: a variable the code reads and the
// README does not mention is a knob nobody can find.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** Read by the code, on purpose absent from the README. */
const INTERNAL: Record<string, string> = {
  STRANGLER_UP_SESSION: 'the handshake between `strangler up` and the launcher it runs in its own session',
};

const entries = [
  ...STACK_PROCESSES.map((process) => process.entry),
  ...readdirSync(path.join(ROOT, 'cli'))
    .filter((file) => /-commands?\.ts$/.test(file))
    .map((file) => `cli/${file}`),
].filter((entry) => existsSync(path.join(ROOT, entry)));

describe('the README', () => {
  it.each(entries)('documents every environment variable %s reads', (entry) => {
    const undocumented = [...variablesRead(entry)].filter((name) => !INTERNAL[name] && !readme.includes(`\`${name}\``));
    expect(undocumented).toEqual([]);
  });

  it('documents every variable routes.yaml expands', () => {
    const undocumented = [...variablesInRoutesFile('routes.yaml')].filter((name) => !readme.includes(`\`${name}\``));
    expect(undocumented).toEqual([]);
  });

  it('shows the commands a newcomer needs first, and the test command CI runs', () => {
    expect(readme).toContain('npm install && npm start');
    expect(readme).toContain('npm test');
    expect(readFileSync(path.join(ROOT, '.ci/run'), 'utf8')).toMatch(/^npm test$/m);
  });
});
