import { z } from 'zod';

/**
 * An Upstream is a service the proxy forwards to: the legacy monolith or an extracted service.
 * Its URL may name environment variables, `${VAR}` or `${VAR:-default}`, expanded once when the
 * table is loaded so one routes.yaml serves every environment.
 */
export const upstreamSchema = z.strictObject({
  url: z.string().min(1),
  /** How long the upstream may take to start answering (and to stay silent mid-answer). */
  timeoutMs: z.number().int().positive().max(600_000).default(30_000),
  /** Idle keep-alive connections kept per upstream. */
  maxFreeSockets: z.number().int().positive().max(10_000).default(256),
  circuit: z
    .strictObject({
      /** Consecutive failures (errors, timeouts, 5xx) that open the circuit. */
      failures: z.number().int().positive().default(5),
      /** How long the circuit stays open before one probe request is let through. */
      resetMs: z.number().int().positive().default(5_000),
    })
    .default({ failures: 5, resetMs: 5_000 }),
});
export type UpstreamDefinition = z.infer<typeof upstreamSchema>;

/** A validated upstream, its URL expanded and parsed. */
export interface Upstream {
  readonly name: string;
  readonly url: URL;
  /** `protocol//host:port`, what a Location header pointing back at the upstream starts with. */
  readonly origin: string;
  readonly timeoutMs: number;
  readonly maxFreeSockets: number;
  readonly circuit: { readonly failures: number; readonly resetMs: number };
}

const variable = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Expands `${VAR}` and `${VAR:-default}`; an unset variable without a default is an error. */
export function expandVariables(text: string, env: Readonly<Record<string, string | undefined>>): { value: string; missing: string[] } {
  const missing: string[] = [];
  const value = text.replace(variable, (_whole, name: string, fallback: string | undefined) => {
    const found = env[name];
    if (found !== undefined && found !== '') return found;
    if (fallback !== undefined) return fallback;
    missing.push(name);
    return '';
  });
  return { value, missing };
}

/** Parses an expanded URL; returns a message instead of throwing so the caller can add a position. */
export function parseUpstreamUrl(text: string): URL | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `"${text}" is not a URL`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `upstream URL "${text}" must be http: or https:`;
  if (url.search || url.hash) return `upstream URL "${text}" must not have a query or fragment`;
  return url;
}
