import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { generateLoad, type LoadResult } from './support/load-generator.ts';
import { freePort } from '../platform/free-port.ts';

/**
 * `npm run bench:proxy` — issue 3's benchmark. One static upstream (a child process), one load
 * generator (autocannon, in this process), and side by side: direct, nginx, @fastify/http-proxy,
 * bare http-proxy-middleware on node:http, and our proxy (proxy/main.ts as in production) with a
 * 30-route table and request logging on (to /dev/null). The target ratio against
 * @fastify/http-proxy is the median of BENCH_ROUNDS (5) alternating back-to-back pairs. Then: p99 at a fixed 1,000 req/s, ours
 * vs direct, with nginx and @fastify/http-proxy under the same load beside it; and 100 reloads of routes.yaml under load, counting failed requests.
 */

const root = fileURLToPath(new URL('..', import.meta.url));
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP = 3;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ROUND_SECONDS = Number(process.env.BENCH_ROUND_SECONDS ?? 5);
const CONNECTIONS = 50;
const FIXED_RATE = 1000;
const FIXED_SECONDS = Number(process.env.BENCH_FIXED_SECONDS ?? 10);
const PATH = '/rest/V1/products/24-MB01';
const work = mkdtempSync(join(tmpdir(), 'strangler-bench-proxy-'));
const children: ChildProcess[] = [];

interface Throughput {
  name: string;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** CPU time the proxy (or, for direct, the upstream) spent per request: robust on a busy machine. */
  cpuMicrosPerRequest: number | null;
}

async function main(): Promise<void> {
  const load = loadavg();
  console.log(`bench:proxy on ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average ${load.map((value) => value.toFixed(2)).join(' ')}`);
  console.log(`${DURATION}s per target after ${WARMUP}s warm-up, ${CONNECTIONS} connections, GET ${PATH}\n`);

  const ports = { upstream: await freePort(), nginx: await freePort(), fastify: await freePort(), fastifyLogging: await freePort(), hpm: await freePort(), ours: await freePort(), admin: await freePort() };
  const upstream = `http://127.0.0.1:${ports.upstream}`;
  const upstreamProcess = await start('upstream', process.execPath, ['--import', 'tsx', 'bench/proxy-targets/static-upstream.ts'], { PORT: String(ports.upstream) }, ports.upstream);

  const results: Throughput[] = [];
  results.push(await measure('direct', ports.upstream, upstreamProcess));

  const nginx = await startNginx(ports.nginx, ports.upstream);
  if (nginx) {
    results.push(await measure('nginx (plain reverse proxy)', ports.nginx, nginx));
    // Kept running (idle) for the fixed-rate comparison below.
  } else results.push({ name: 'nginx (unavailable)', requestsPerSecond: 0, p50: 0, p99: 0, errors: 0, non2xx: 0, cpuMicrosPerRequest: null });

  const fastify = await start('fastify', process.execPath, ['--import', 'tsx', 'bench/proxy-targets/fastify-proxy.ts'], { PORT: String(ports.fastify), UPSTREAM: upstream }, ports.fastify);
  results.push(await measure('@fastify/http-proxy', ports.fastify, fastify));
  // Kept running (idle) for the alternating rounds against ours below.
  // For comparison only (the target is against the row above, logging off): fastify logging its
  // requests as ours does, to the same kind of buffered destination.
  const fastifyLogging = await start('fastify-logging', process.execPath, ['--import', 'tsx', 'bench/proxy-targets/fastify-proxy.ts'], { PORT: String(ports.fastifyLogging), UPSTREAM: upstream, LOGGER: '1' }, ports.fastifyLogging, true);
  results.push(await measure('@fastify/http-proxy, logging on', ports.fastifyLogging, fastifyLogging));
  stop(fastifyLogging);

  const hpm = await start('hpm', process.execPath, ['--import', 'tsx', 'bench/proxy-targets/hpm-proxy.ts'], { PORT: String(ports.hpm), UPSTREAM: upstream }, ports.hpm);
  results.push(await measure('http-proxy-middleware, bare node:http', ports.hpm, hpm));
  stop(hpm);

  const routesFile = join(work, 'routes.yaml');
  writeFileSync(routesFile, thirtyRoutes(ports.upstream, 'extracted'));
  const token = 'bench-token';
  const ours = await start('ours', process.execPath, ['--import', 'tsx', 'proxy/main.ts'], { PROXY_PORT: String(ports.ours), ADMIN_PORT: String(ports.admin), ROUTES_FILE: routesFile, STRANGLER_ADMIN_TOKEN: token, LOG_LEVEL: 'info' }, ports.ours, true);
  results.push(await measure('strangler proxy (30 routes, logging on)', ports.ours, ours));

  const byName = (prefix: string) => results.find((result) => result.name.startsWith(prefix));
  const oursResult = byName('strangler') as Throughput;
  printThroughput(results, oursResult);

  // The target ratio, ours ÷ @fastify/http-proxy: one measurement each, minutes apart, is at the
  // mercy of whatever else the machine runs. ROUNDS more alternating pairs, back to back; the
  // ratio is the median of the pairs' ratios.
  console.log(`\nours vs @fastify/http-proxy, ${ROUNDS} alternating rounds of ${ROUND_SECONDS} s each:`);
  const pairs: { fastify: Throughput; ours: Throughput; ratio: number }[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const first = round % 2 === 1 ? 'fastify' : 'ours';
    const one = await measure(`round ${round} ${first}`, first === 'fastify' ? ports.fastify : ports.ours, first === 'fastify' ? fastify : ours, ROUND_SECONDS, 1);
    const other = await measure(`round ${round} ${first === 'fastify' ? 'ours' : 'fastify'}`, first === 'fastify' ? ports.ours : ports.fastify, first === 'fastify' ? ours : fastify, ROUND_SECONDS, 1);
    const [fastifyRound, oursRound] = first === 'fastify' ? [one, other] : [other, one];
    pairs.push({ fastify: fastifyRound, ours: oursRound, ratio: oursRound.requestsPerSecond / fastifyRound.requestsPerSecond });
  }
  const roundRatios = pairs.map((pair) => pair.ratio).sort((a, b) => a - b);
  const medianRatio = roundRatios[Math.floor(roundRatios.length / 2)] ?? 0;
  const cpu = (rows: Throughput[]) => rows.map((row) => row.cpuMicrosPerRequest ?? 0).sort((a, b) => a - b)[Math.floor(rows.length / 2)] ?? 0;
  console.log(`ratios ${pairs.map((pair) => `${pair.ratio.toFixed(2)}×`).join(' ')} → median ${medianRatio.toFixed(2)}×; median CPU µs/request: fastify ${cpu(pairs.map((pair) => pair.fastify)).toFixed(0)}, ours ${cpu(pairs.map((pair) => pair.ours)).toFixed(0)}`);

  // p99 at a fixed 1,000 req/s, open loop (latency from each request's due time) from the load
  // generator in its own process. nginx and @fastify/http-proxy run the same load beside ours, so
  // the table tells what any proxy hop costs on this machine from what ours adds; the order is
  // mirrored in a second pass (direct, nginx, fastify, ours, ours, fastify, nginx, direct) so
  // that a slow stretch of the shared machine lands on every row alike.
  console.log(`\nfixed rate ${FIXED_RATE} req/s, open loop, ${FIXED_SECONDS} s per run, two mirrored passes:`);
  const fixedTargets = [
    { name: 'direct', port: ports.upstream },
    ...(nginx ? [{ name: 'nginx', port: ports.nginx }] : []),
    { name: '@fastify/http-proxy', port: ports.fastify },
    { name: 'strangler proxy', port: ports.ours },
  ];
  const fixedRuns = new Map<string, LoadResult[]>(fixedTargets.map((target) => [target.name, []]));
  for (const target of [...fixedTargets, ...[...fixedTargets].reverse()]) {
    fixedRuns.get(target.name)!.push(await generateLoad({ port: target.port, paths: [PATH], seconds: FIXED_SECONDS, connections: 64, perSecond: FIXED_RATE }));
  }
  if (nginx) stop(nginx);
  stop(fastify);
  const meanP99 = (name: string) => mean(fixedRuns.get(name)!.map((run) => run.latency.p99));
  const fixedRows = fixedTargets.map((target) => {
    const runs = fixedRuns.get(target.name)!;
    return { name: target.name, sent: sum(runs.map((run) => run.requests)), failed: sum(runs.map((run) => run.failed)), p50: runs.map((run) => run.latency.p50), p99: runs.map((run) => run.latency.p99), p99FromSend: runs.map((run) => run.fromSend.p99), max: Math.max(...runs.map((run) => run.latency.max)), p99AboveDirect: meanP99(target.name) - meanP99('direct') };
  });
  console.log(table([
    ['target', 'sent', 'failed', 'p50 ms (pass 1, 2)', 'p99 ms (pass 1, 2)', 'p99 from send', 'max ms', 'p99 above direct'],
    ...fixedRows.map((row) => [row.name, String(row.sent), String(row.failed), row.p50.map((value) => value.toFixed(3)).join(', '), row.p99.map((value) => value.toFixed(3)).join(', '), row.p99FromSend.map((value) => value.toFixed(3)).join(', '), row.max.toFixed(1), row.name === 'direct' ? '-' : `+${row.p99AboveDirect.toFixed(3)}`]),
  ]));
  const p99Overhead = meanP99('strangler proxy') - meanP99('direct');
  console.log(`p99 overhead (mean of the two passes): ${p99Overhead.toFixed(3)} ms (target ≤ 1 ms)`);

  console.log('\n100 reloads of routes.yaml during load (alternating the hot route legacy ⇄ extracted):');
  const reloads = await reloadsUnderLoad(ports.ours, ports.admin, token, routesFile, ports.upstream);
  console.log(`requests ${reloads.requests}, errors ${reloads.errors}, non-2xx ${reloads.non2xx}, reloads applied ${reloads.applied}/${reloads.attempted}`);
  stop(ours);

  const fastifyResult = results.find((result) => result.name === '@fastify/http-proxy');
  const nginxResult = byName('nginx (plain');
  const targets = {
    vsFastify: { target: 1.0, ratio: medianRatio, singleRunRatio: fastifyResult ? oursResult.requestsPerSecond / fastifyResult.requestsPerSecond : null, rounds: pairs },
    vsNginx: { target: 0.3, ratio: nginxResult ? oursResult.requestsPerSecond / nginxResult.requestsPerSecond : null },
    p99OverheadMs: { target: 1, value: p99Overhead },
    reloadFailures: { target: 0, value: reloads.errors + reloads.non2xx },
  };
  const met = {
    vsFastify: targets.vsFastify.ratio !== null && targets.vsFastify.ratio >= 1.0,
    vsNginx: targets.vsNginx.ratio !== null && targets.vsNginx.ratio >= 0.3,
    p99: p99Overhead <= 1,
    reloads: reloads.errors + reloads.non2xx === 0 && reloads.applied === reloads.attempted,
  };
  console.log(`\ntargets: ours ≥ 1.0× @fastify/http-proxy (median of ${ROUNDS} alternating rounds): ${fmtRatio(targets.vsFastify.ratio)} ${met.vsFastify ? 'MET' : 'NOT MET'}; ours ≥ 0.3× nginx: ${fmtRatio(targets.vsNginx.ratio)} ${met.vsNginx ? 'MET' : 'NOT MET'}; p99 @1k ≤ direct + 1 ms: ${met.p99 ? 'MET' : 'NOT MET'}; zero failures over 100 reloads: ${met.reloads ? 'MET' : 'NOT MET'}`);

  mkdirSync(join(root, 'bench/results'), { recursive: true });
  const file = join(root, 'bench/results/proxy.json');
  writeFileSync(
    file,
    `${JSON.stringify({ at: new Date().toISOString(), machine: { cores: cpus().length, model: cpus()[0]?.model, loadAverageAtStart: load, node: process.version }, settings: { durationSeconds: DURATION, warmupSeconds: WARMUP, connections: CONNECTIONS, path: PATH, nginxWorkers: 'auto' }, throughput: results, fixedRate: { ratePerSecond: FIXED_RATE, secondsPerRun: FIXED_SECONDS, generator: 'bench/support/load-generator.ts, open loop, latency from each request\'s due time', rows: fixedRows, p99OverheadMs: p99Overhead }, reloads, targets, met }, null, 2)}\n`,
  );
  console.log(`\nwritten ${file}`);
}

function printThroughput(results: Throughput[], ours: Throughput): void {
  console.log(table([
    ['target', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'non-2xx', 'CPU µs/req', 'ours ÷ this'],
    ...results.map((result) => [result.name, result.requestsPerSecond.toFixed(0), result.p50.toFixed(2), result.p99.toFixed(2), String(result.errors), String(result.non2xx), result.cpuMicrosPerRequest === null ? '-' : result.cpuMicrosPerRequest.toFixed(0), result.requestsPerSecond > 0 ? `${(ours.requestsPerSecond / result.requestsPerSecond).toFixed(2)}×` : '-']),
  ]));
}

async function measure(name: string, port: number, child: ChildProcess | undefined, seconds = DURATION, warmup = WARMUP): Promise<Throughput> {
  const url = `http://127.0.0.1:${port}${PATH}`;
  await autocannon({ url, connections: CONNECTIONS, duration: warmup });
  const before = child?.pid === undefined ? null : cpuTicks(child.pid);
  const result = await autocannon({ url, connections: CONNECTIONS, duration: seconds });
  const after = child?.pid === undefined ? null : cpuTicks(child.pid);
  const cpuMicrosPerRequest = before === null || after === null || result.requests.total === 0 ? null : ((after - before) / CLOCK_TICKS) * 1e6 / result.requests.total;
  const throughput = { name, requestsPerSecond: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.timeouts, non2xx: result.non2xx, cpuMicrosPerRequest };
  console.log(`  ${name}: ${throughput.requestsPerSecond.toFixed(0)} req/s${cpuMicrosPerRequest === null ? '' : `, ${cpuMicrosPerRequest.toFixed(0)} µs CPU/request`}`);
  return throughput;
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** user+system CPU ticks of a process and all its descendants (nginx workers), from /proc. */
function cpuTicks(rootPid: number): number | null {
  try {
    const stats = new Map<number, { parent: number; ticks: number }>();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const text = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
        stats.set(Number(entry), { parent: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) });
      } catch {
        // the process ended while we looked
      }
    }
    let total = 0;
    const queue = [rootPid];
    while (queue.length > 0) {
      const pid = queue.pop() as number;
      total += stats.get(pid)?.ticks ?? 0;
      for (const [child, stat] of stats) if (stat.parent === pid) queue.push(child);
    }
    return total;
  } catch {
    return null;
  }
}

async function reloadsUnderLoad(port: number, adminPort: number, token: string, routesFile: string, upstreamPort: number) {
  const load = autocannon({ url: `http://127.0.0.1:${port}${PATH}`, connections: 20, duration: 14 });
  await sleep(1000);
  let applied = 0;
  for (let index = 0; index < 100; index += 1) {
    writeFileSync(routesFile, thirtyRoutes(upstreamPort, index % 2 === 0 ? 'legacy' : 'extracted'));
    const response = await fetch(`http://127.0.0.1:${adminPort}/reload`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    const body = (await response.json()) as { result: string };
    // The file watcher may have applied the edit a moment before POST /reload saw it: also fine.
    if (body.result === 'applied' || body.result === 'unchanged') applied += 1;
    await sleep(100);
  }
  const result = await load;
  return { attempted: 100, applied, requests: result.requests.total, errors: result.errors + result.timeouts, non2xx: result.non2xx };
}

/** 30 routes shaped like a real migration; the benchmarked path matches the 25th. */
function thirtyRoutes(upstreamPort: number, hotMode: 'legacy' | 'extracted'): string {
  const lines = [
    'upstreams:',
    `  legacy: { url: "http://127.0.0.1:${upstreamPort}" }`,
    `  pim: { url: "http://127.0.0.1:${upstreamPort}", timeoutMs: 2000 }`,
    '  pricing: { url: "http://127.0.0.1:9", timeoutMs: 2000 }',
    'routes:',
  ];
  const filler = ['customer/account', 'checkout/cart', 'checkout/onepage', 'wishlist', 'sales/order', 'review/product', 'newsletter', 'contact', 'search/term', 'catalogsearch/result', 'cms/page', 'rest/V1/carts/mine', 'rest/V1/guest-carts', 'rest/V1/customers/me', 'rest/V1/orders', 'rest/V1/categories', 'rest/V1/cmsPage', 'rest/V1/directory/countries', 'rest/V1/store/storeConfigs', 'rest/V1/integration/customer/token', 'rest/V1/inventory/sources', 'rest/V1/coupons', 'rest/V1/invoices'];
  filler.forEach((path, index) => lines.push(`  - id: route-${index}`, `    match: { path: "/${path}/*" }`, '    mode: legacy'));
  lines.push('  - id: final-price', '    match: { method: GET, path: "/rest/V1/products/:sku/final-price" }', '    mode: canary', '    target: pricing', '    canary: { percent: 0, stickyBy: "cookie:PHPSESSID" }');
  lines.push('  - id: product-by-sku', '    match: { method: [GET, HEAD], path: "/rest/V1/products/:sku" }', `    mode: ${hotMode}`, ...(hotMode === 'extracted' ? ['    target: pim', '    fallback: legacy'] : []));
  lines.push('  - id: products-search', '    match: { method: GET, path: "/rest/V1/products", query: { "searchCriteria[pageSize]": "*" } }', '    mode: legacy');
  lines.push('  - id: media', '    match: { path: "/media/*" }', '    mode: legacy');
  lines.push('  - id: static', '    match: { path: "/static/*" }', '    mode: legacy');
  lines.push('  - id: graphql', '    match: { method: [GET, POST], path: "/graphql" }', '    mode: legacy');
  lines.push('  - id: everything-else', '    match: { path: "/*" }', '    mode: legacy');
  return `${lines.join('\n')}\n`;
}

async function startNginx(port: number, upstreamPort: number): Promise<ChildProcess | undefined> {
  const binary = findNginx() ?? installNginx();
  if (!binary) return undefined;
  const prefix = join(work, 'nginx');
  mkdirSync(join(prefix, 'logs'), { recursive: true });
  const config = join(prefix, 'nginx.conf');
  writeFileSync(
    config,
    `# Plain reverse proxy, Debian defaults where they matter (worker_processes auto), no access log.
${process.getuid?.() === 0 ? 'user root;' : ''}
worker_processes auto;
daemon off;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body; proxy_temp_path ${prefix}/proxy; fastcgi_temp_path ${prefix}/fastcgi; uwsgi_temp_path ${prefix}/uwsgi; scgi_temp_path ${prefix}/scgi;
  upstream app { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host $host; }
  }
}
`,
  );
  return start('nginx', binary, ['-p', prefix, '-c', config], {}, port);
}

function findNginx(): string | undefined {
  for (const candidate of ['/usr/sbin/nginx', '/usr/bin/nginx']) {
    try {
      execFileSync(candidate, ['-v'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // try the next
    }
  }
  return undefined;
}

function installNginx(): string | undefined {
  console.log('nginx is missing: apt-get install -y nginx');
  try {
    try {
      execFileSync('apt-get', ['install', '-y', '-q', 'nginx'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    } catch {
      execFileSync('apt-get', ['update', '-q'], { stdio: 'inherit' });
      execFileSync('apt-get', ['install', '-y', '-q', 'nginx'], { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    }
  } catch (error) {
    console.log(`could not install nginx (${(error as Error).message}); its row is left empty`);
    return undefined;
  }
  return findNginx();
}

async function start(name: string, command: string, args: string[], env: Record<string, string>, port: number, quiet = false): Promise<ChildProcess> {
  // Our proxy logs one line per request: to /dev/null here, as cheap as a log shipper's pipe.
  const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', quiet ? 'ignore' : 'pipe', 'inherit'] });
  child.stdout?.resume();
  children.push(child);
  const deadline = Date.now() + 30_000;
  while (!(await answers(port))) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`${name} did not start on port ${port}`);
    await sleep(100);
  }
  return child;
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    request({ host: '127.0.0.1', port, path: PATH, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    })
      .on('error', () => resolve(false))
      .end();
  });
}

function stop(child: ChildProcess): void {
  if (child.exitCode === null) child.kill('SIGTERM');
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_cell, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows.map((row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join('  ')).join('\n');
}

function fmtRatio(ratio: number | null): string {
  return ratio === null ? 'n/a' : `${ratio.toFixed(2)}×`;
}

function mean(values: number[]): number {
  return values.reduce((total, value) => total + value, 0) / Math.max(1, values.length);
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

try {
  await main();
} finally {
  for (const child of children) stop(child);
  rmSync(work, { recursive: true, force: true });
}
