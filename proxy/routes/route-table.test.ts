import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RoutesInvalidError } from '../errors.ts';
import { parseRouteTable } from './route-table.ts';

const parse = (text: string, env: Record<string, string> = {}) => parseRouteTable(text, { file: 'routes.yaml', env });

function problemsOf(text: string): { line: number; column: number; message: string }[] {
  try {
    parse(text);
  } catch (error) {
    if (error instanceof RoutesInvalidError) return error.problems.map(({ line, column, message }) => ({ line, column, message }));
    throw error;
  }
  throw new Error('expected the table to be refused');
}

const upstreams = `upstreams:
  legacy: { url: "http://127.0.0.1:8081" }
  pim: { url: "http://127.0.0.1:8083" }
`;

describe('parseRouteTable', () => {
  it('reads the repository routes.yaml: every route legacy, pricing and pim declared', () => {
    const table = parse(readFileSync(new URL('../../routes.yaml', import.meta.url), 'utf8'));
    expect(table.routes.map((route) => route.mode)).toEqual(['legacy', 'legacy', 'legacy', 'legacy']);
    expect([...table.upstreams.keys()]).toEqual(['legacy', 'pricing', 'pim']);
    expect(table.upstreams.get('pricing')?.timeoutMs).toBe(2000);
    expect(table.warnings).toEqual([]);
  });

  it('expands ${VAR:-default} in upstream URLs from the environment', () => {
    const text = `upstreams:\n  legacy: { url: "http://127.0.0.1:\${LEGACY_PORT:-8081}" }\n  pim: { url: "http://\${PIM_HOST}:\${PIM_PORT:-8083}/base" }\n`;
    const table = parse(text, { LEGACY_PORT: '9999', PIM_HOST: 'pim.local' });
    expect(table.upstreams.get('legacy')?.url.href).toBe('http://127.0.0.1:9999/');
    expect(table.upstreams.get('pim')?.url.href).toBe('http://pim.local:8083/base');
  });

  it('when a variable is unset and has no default, then it points at the url', () => {
    const [problem] = problemsOf(`upstreams:\n  legacy:\n    url: "http://\${NOPE}:1"\n`);
    expect(problem).toMatchObject({ line: 3, column: 10 });
    expect(problem?.message).toContain('NOPE is not set');
  });

  it('when the YAML is malformed, then the error has the line and column', () => {
    const [problem] = problemsOf(`${upstreams}routes:\n  - id: a\n    match: { path: "/a" \n`);
    expect(problem?.line).toBeGreaterThanOrEqual(5);
    expect(problem?.column).toBeGreaterThan(0);
  });

  it('when a route names an unknown upstream, then the target line is reported', () => {
    const problems = problemsOf(`${upstreams}routes:\n  - id: a\n    match: { path: "/a" }\n    mode: extracted\n    target: pricing\n`);
    expect(problems).toEqual([{ line: 8, column: 13, message: expect.stringContaining('unknown upstream "pricing"') }]);
  });

  it('refuses a duplicate id, a non-legacy mode without target, and a percent outside 0..100', () => {
    const problems = problemsOf(`${upstreams}routes:
  - id: a
    match: { path: "/a" }
  - id: a
    match: { path: "/b" }
  - id: c
    match: { path: "/c" }
    mode: extracted
  - id: d
    match: { path: "/d" }
    mode: canary
    target: pim
    canary: { percent: 120 }
`);
    expect(problems.map((problem) => [problem.line, problem.message])).toEqual([
      [16, expect.stringContaining('percent must be between 0 and 100')],
    ]);
    // The schema error stops the run; fix it and the cross-route rules are reported together.
    const next = problemsOf(`${upstreams}routes:
  - id: a
    match: { path: "/a" }
  - id: a
    match: { path: "/b" }
  - id: c
    match: { path: "/c" }
    mode: extracted
`);
    expect(next.map((problem) => [problem.line, problem.column, problem.message])).toEqual([
      [7, 9, expect.stringContaining('duplicate route id "a"')],
      [9, 5, expect.stringContaining('mode extracted needs a target')],
    ]);
  });

  it('refuses unknown fields, bad modes and bad paths with their position', () => {
    const problems = problemsOf(`${upstreams}routes:\n  - id: a\n    match: { path: "rest/*/x", methd: GET }\n    mode: extractd\n`);
    expect(problems).toEqual(
      expect.arrayContaining([
        { line: 6, column: 20, message: expect.stringContaining('path must start with "/"') },
        { line: 6, column: 32, message: expect.stringContaining('unknown field "methd"') },
        { line: 7, column: 11, message: expect.stringContaining('mode must be one of') },
      ]),
    );
  });

  it('requires a legacy upstream', () => {
    expect(problemsOf(`upstreams:\n  pim: { url: "http://127.0.0.1:1" }\n`)[0]?.message).toContain('"legacy" is required');
  });

  it('warns about a route shadowed by an earlier, broader one, and still loads', () => {
    const table = parse(`${upstreams}routes:
  - id: all-products
    match: { path: "/rest/V1/products/*" }
  - id: one-product
    match: { method: GET, path: "/rest/V1/products/:sku" }
    mode: extracted
    target: pim
  - id: only-with-header
    match: { path: "/x", headers: { x-beta: "1" } }
  - id: x
    match: { path: "/x" }
`);
    expect(table.warnings).toEqual([expect.objectContaining({ line: 7, message: expect.stringContaining('"one-product" is unreachable') })]);
  });

  it('gives the same content the same version and a load time', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const first = parseRouteTable(upstreams, { file: 'r', env: {}, now });
    expect(first.version).toMatch(/^[0-9a-f]{16}$/);
    expect(parse(upstreams).version).toBe(first.version);
    expect(parse(`${upstreams}# edited\n`).version).not.toBe(first.version);
    expect(first.loadedAt).toBe(now);
  });
});
