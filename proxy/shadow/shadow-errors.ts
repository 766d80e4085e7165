import { StranglerError } from '../../platform/errors.ts';

/** The shadow side's error codes (the proxy's others are in proxy/errors.ts). */
export const ShadowErrors = {
  routeNotFound: (file: string, routeId: string, known: readonly string[]) =>
    new StranglerError('PROXY_SHADOW_ROUTE_NOT_FOUND', `${file} has no route "${routeId}"`, {
      remedy: `Use one of the route ids in the file (${known.join(', ') || 'none'}); \`npx strangler routes show\` lists the live ones.`,
    }),
  wrongMode: (routeId: string, mode: string, expected: string) =>
    new StranglerError('PROXY_SHADOW_WRONG_MODE', `route "${routeId}" is in mode ${mode}, not ${expected}`, {
      remedy: `Put the route in mode ${expected} first (with a target and a shadow: block) and let it collect evidence.`,
    }),
  noTarget: (routeId: string) =>
    new StranglerError('PROXY_SHADOW_NO_TARGET', `route "${routeId}" has no target to shadow`, {
      remedy: 'Add `target: <upstream>` to the route (the extracted service) before putting it in shadow mode.',
    }),
  notEnoughEvidence: (routeId: string, reasons: readonly string[]) =>
    new StranglerError('PROXY_CUTOVER_REFUSED', `refusing to cut over "${routeId}": ${reasons.join('; ')}`, {
      remedy: 'Keep the route in shadow until the report shows the evidence (`npx strangler shadow report`), fix the service or justify a rule, or pass --force to override (it is logged).',
    }),
  editInvalid: (file: string, detail: string) =>
    new StranglerError('PROXY_CUTOVER_INVALID_RESULT', `the edited ${file} would not be valid: ${detail}`, {
      remedy: 'Fix the route by hand (`npx strangler routes check` shows what is wrong); the file was left as it was.',
    }),
} as const;
