import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// What a process's code reads from its environment, found by reading the code: the docker-compose
// test compares it with each service's `environment`, the README test with the documented table.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The repository files an entry imports, transitively (relative imports only). */
export function importTree(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file) || !existsSync(file)) return;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g)) {
      visit(path.resolve(path.dirname(file), match[1] as string));
    }
  };
  visit(path.join(ROOT, entry));
  return [...seen];
}

/**
 * The environment variables the code reads: `process.env.X`, `process.env['X']`,
 * `const { X } = process.env`, and, when a file hands the whole environment on
 * (`schema.parse(process.env)`, `configFromEnv(process.env)`), what the tree reads from it:
 * `env.X`, `env['X']`, `number('X')`-style helpers and the UPPER_SNAKE keys of zod objects.
 */
export function variablesRead(entry: string): Set<string> {
  const names = new Set<string>();
  const files = importTree(entry);
  let wholeEnvironment = false;
  for (const file of files) {
    const source = readFileSync(file, 'utf8').replace(/^\s*\/\/.*$/gm, '');
    for (const match of source.matchAll(/process\.env\.([A-Z_][A-Z0-9_]*)/g)) names.add(match[1] as string);
    for (const match of source.matchAll(/process\.env\[\s*['"`]([A-Z_][A-Z0-9_]*)['"`]\s*\]/g)) names.add(match[1] as string);
    for (const match of source.matchAll(/\{([^{}]*)\}\s*=\s*process\.env\b/g)) {
      for (const name of (match[1] as string).split(',')) {
        const key = name.split(/[:=]/)[0]?.trim();
        if (key && /^[A-Z_][A-Z0-9_]*$/.test(key)) names.add(key);
      }
    }
    if (/process\.env(?![.[\w])|process\.env\[\s*(?!['"`])/.test(source)) wholeEnvironment = true;
  }
  if (wholeEnvironment) {
    for (const file of files) {
      const source = readFileSync(file, 'utf8').replace(/^\s*\/\/.*$/gm, '');
      for (const match of source.matchAll(/\benv\.([A-Z][A-Z0-9_]*)\b/g)) names.add(match[1] as string);
      for (const match of source.matchAll(/\benv\[\s*['"`]([A-Z][A-Z0-9_]*)['"`]\s*\]/g)) names.add(match[1] as string);
      for (const match of source.matchAll(/\b[a-z]\w*\(\s*'([A-Z][A-Z0-9]*_[A-Z0-9_]+)'\s*\)/g)) names.add(match[1] as string);
      if (!source.includes('z.object(')) continue;
      for (const match of source.matchAll(/^\s*([A-Z][A-Z0-9_]+)\s*:\s*(?:z\.|[a-zA-Z]+[,(.])/gm)) names.add(match[1] as string);
    }
  }
  return names;
}

/** `${VAR}` and `${VAR:-default}` in a routes file: the proxy expands them from its environment. */
export function variablesInRoutesFile(file: string): Set<string> {
  const text = readFileSync(path.join(ROOT, file), 'utf8').replace(/#.*$/gm, '');
  return new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}/g)].map((match) => match[1] as string));
}
