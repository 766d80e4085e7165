import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

// `npm run bench`: every benchmark, one after the other (never side by side: each one compares
// its own contenders in one run, and two benchmarks at once would load the same two cores).
// Each prints its table and writes bench/results/<name>.json. `npm run bench -- proxy cdc` runs some.
const all = ['legacy-seed', 'proxy', 'cdc', 'pricing', 'pim', 'shadow', 'seed'];
const chosen = process.argv.slice(2).length > 0 ? process.argv.slice(2) : all;
const here = path.dirname(fileURLToPath(import.meta.url));

const unknown = chosen.filter((name) => !all.includes(name));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; choose from ${all.join(', ')}`);
  process.exit(2);
}

const outcomes: Array<{ name: string; status: string; seconds: number }> = [];
for (const name of chosen) {
  const script = path.join(here, `${name}.ts`);
  if (!existsSync(script)) continue;
  console.log(`\n=== bench:${name} ===`);
  const started = Date.now();
  const run = spawnSync(process.execPath, ['--import', 'tsx', script], { stdio: 'inherit', env: process.env });
  outcomes.push({
    name,
    status: run.status === 0 ? 'ok' : `failed (${run.status ?? run.signal})`,
    seconds: Math.round((Date.now() - started) / 1000),
  });
}

console.log('\nbenchmark        status        seconds   results');
for (const outcome of outcomes) {
  console.log(`${outcome.name.padEnd(16)} ${outcome.status.padEnd(13)} ${String(outcome.seconds).padStart(7)}   bench/results/${outcome.name}.json`);
}
process.exit(outcomes.every((outcome) => outcome.status === 'ok') ? 0 : 1);
