import { z } from 'zod';
import { shadowSchema } from '../shadow/shadow-rules.ts';

/**
 * A Route reads like an Envoy route: a *match* (which requests) and an *action* (mode, target,
 * fallback, canary). This file holds the schema of one route as written in routes.yaml; the
 * cross-route rules (known upstreams, unique ids, reachability) live in route-table.ts.
 */

export const MODES = ['legacy', 'extracted', 'canary', 'shadow'] as const;
export type Mode = (typeof MODES)[number];

export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type Method = (typeof METHODS)[number];

/** Methods RFC 9110 §9.2.1 calls safe: the only ones a fallback may replay on legacy. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

const methodSchema = z
  .string()
  .transform((value) => value.toUpperCase())
  .pipe(z.enum(METHODS, { error: () => `method must be one of ${METHODS.join(', ')}` }));

const pathTemplateSchema = z
  .string()
  .refine((path) => path.startsWith('/'), 'path must start with "/"')
  .refine((path) => !path.slice(0, -1).includes('*') && (!path.endsWith('*') || path.endsWith('/*')), 'a "*" may only end the path, as "/*"')
  .refine((path) => path.split('/').every((segment) => !segment.startsWith(':') || /^:[A-Za-z_][A-Za-z0-9_]*$/.test(segment)), 'a path parameter is ":" followed by a name, e.g. "/rest/V1/products/:sku"');

const predicateValueSchema = z.union([z.string(), z.number().transform(String), z.boolean().transform(String)]);

export const matchSchema = z.strictObject({
  /** One method or a list; absent means any method. */
  method: z.union([methodSchema, z.array(methodSchema).min(1)]).optional(),
  /** A path template: literal segments, `:param` segments and an optional trailing `/*`. */
  path: pathTemplateSchema,
  /** Query parameters that must be present with exactly this value ("*" = present with any value). */
  query: z.record(z.string(), predicateValueSchema).optional(),
  /** Request headers that must be present with exactly this value ("*" = present with any value). */
  headers: z.record(z.string(), predicateValueSchema).optional(),
});
export type Match = z.infer<typeof matchSchema>;

export const canarySchema = z.strictObject({
  percent: z.number().min(0, 'percent must be between 0 and 100').max(100, 'percent must be between 0 and 100'),
  /** `cookie:NAME` or `header:NAME`; the same value always lands on the same side. */
  stickyBy: z.string().regex(/^(cookie|header):[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'stickyBy must be "cookie:NAME" or "header:NAME"').optional(),
});
export type Canary = z.infer<typeof canarySchema>;

export const routeSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'id must be letters, digits, ".", "_" or "-"'),
  match: matchSchema,
  mode: z.enum(MODES, { error: () => `mode must be one of ${MODES.join(', ')}` }).default('legacy'),
  /** The upstream that serves the route in `extracted` mode, takes the canary share, or is shadowed. */
  target: z.string().optional(),
  /** On error, timeout or an open circuit, answer safe methods from legacy instead. */
  fallback: z.literal('legacy', { error: () => 'fallback can only be "legacy"' }).optional(),
  canary: canarySchema.optional(),
  /** How mode shadow mirrors and compares (proxy/shadow/README.md). Kept on other modes for a rollback. */
  shadow: shadowSchema.optional(),
});
export type RouteDefinition = z.infer<typeof routeSchema>;
