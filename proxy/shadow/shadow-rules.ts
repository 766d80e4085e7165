import { z } from 'zod';
import { parsePathPattern, type PathPattern } from './json-path.ts';

/**
 * The `shadow:` block of a route in routes.yaml: how much traffic to mirror, how hard to try,
 * and how to compare. Parsed once (at table load) into frozen ShadowRules with compiled patterns.
 */

const pathPatternSchema = z.string().superRefine((value, context) => {
  try {
    parsePathPattern(value);
  } catch (error) {
    context.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
  }
});

const headerNameSchema = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'a header name is a token such as content-type')
  .transform((name) => name.toLowerCase());

export const DEFAULT_MAX_BODY_BYTES = 1_048_576;

export const shadowSchema = z.strictObject({
  /** Share of matching requests mirrored (0..1). */
  sampleRate: z.number().min(0, 'sampleRate must be between 0 and 1').max(1, 'sampleRate must be between 0 and 1').default(1),
  /** Shadow requests in flight for this route; beyond it a request is skipped and counted. */
  maxConcurrent: z.number().int().positive().default(32),
  /** How long the shadow side may take before the comparison is an `error`. */
  timeoutMs: z.number().int().positive().default(2000),
  /** Who answers the shopper: `legacy` (shadow) or `target` (reverse shadow after a cutover). */
  primary: z.enum(['legacy', 'target']).default('legacy'),
  /** Largest body kept for comparison; a larger one is compared by hash or skipped (`oversize`). */
  maxBodyBytes: z.number().int().positive().default(DEFAULT_MAX_BODY_BYTES),
  oversize: z.enum(['hash', 'skip']).default('hash'),
  /** POST/PUT/PATCH/DELETE are never mirrored unless `mirror`: DANGEROUS, the shadow writes twice. */
  unsafe: z.enum(['skip', 'mirror']).default('skip'),
  /** Response headers compared (besides status and body). */
  headers: z.array(headerNameSchema).default(['content-type']),
  /** JSON paths never compared, with wildcards: `$.items[*].updated_at`, `$..etag`. */
  ignore: z.array(pathPatternSchema).default([]),
  /** Largest absolute difference between two numbers still equal: one for all, or per path. */
  tolerance: z.union([z.number().nonnegative(), z.record(pathPatternSchema, z.number().nonnegative())]).optional(),
  /** Arrays compared regardless of order, elements paired by `key` (or by value without one). */
  unordered: z.array(z.strictObject({ path: pathPatternSchema, key: z.string().min(1).optional() })).default([]),
  /** `auto`: learn fields that differ between two answers of the primary itself, and ignore them. */
  noise: z.enum(['off', 'auto']).default('off'),
  /** How many requests per route are sent twice to the primary to learn noise. */
  noiseSamples: z.number().int().positive().default(20),
  /** Without an X-Data-Lsn to wait for, re-ask both sides this long after a difference. */
  recheckAfterMs: z.number().int().nonnegative().optional(),
  /** With X-Data-Lsn: how long to wait for the service to catch up before judging `mismatch`. */
  lsnWaitMs: z.number().int().positive().default(3000),
  /** JSON paths replaced by "[redacted]" in stored mismatches (request and both bodies). */
  redact: z.array(pathPatternSchema).default([]),
  /** How many recent mismatches the report keeps (with bodies and diff). */
  keepMismatches: z.number().int().min(1).max(1000).default(20),
});
export type ShadowDefinition = z.infer<typeof shadowSchema>;

export interface ShadowRules {
  readonly sampleRate: number;
  readonly maxConcurrent: number;
  readonly timeoutMs: number;
  readonly primary: 'legacy' | 'target';
  readonly maxBodyBytes: number;
  readonly oversize: 'hash' | 'skip';
  readonly unsafe: 'skip' | 'mirror';
  readonly headers: readonly string[];
  readonly ignore: readonly PathPattern[];
  /** A uniform tolerance applies to every number; per-path ones are checked first. */
  readonly tolerance: { readonly all: number; readonly byPath: readonly { pattern: PathPattern; tolerance: number }[] };
  readonly unordered: readonly { pattern: PathPattern; key: string | undefined }[];
  readonly noise: 'off' | 'auto';
  readonly noiseSamples: number;
  readonly recheckAfterMs: number | undefined;
  readonly lsnWaitMs: number;
  readonly redact: readonly PathPattern[];
  readonly keepMismatches: number;
}

export function compileShadowRules(definition: Partial<ShadowDefinition> = {}): ShadowRules {
  const parsed = shadowSchema.parse(definition);
  const tolerance = parsed.tolerance;
  return Object.freeze({
    ...parsed,
    recheckAfterMs: parsed.recheckAfterMs,
    headers: Object.freeze([...parsed.headers]),
    ignore: Object.freeze(parsed.ignore.map(parsePathPattern)),
    tolerance: Object.freeze({
      all: typeof tolerance === 'number' ? tolerance : 0,
      byPath: Object.freeze(typeof tolerance === 'object' ? Object.entries(tolerance).map(([path, value]) => ({ pattern: parsePathPattern(path), tolerance: value })) : []),
    }),
    unordered: Object.freeze(parsed.unordered.map((rule) => ({ pattern: parsePathPattern(rule.path), key: rule.key }))),
    redact: Object.freeze(parsed.redact.map(parsePathPattern)),
  });
}
