import { Router } from 'express';
import type { RouteSummary, ShadowReport } from './shadow-report.ts';

/** A route as the shadow report describes it: what the live table says about it now. */
export interface ShadowRouteInfo {
  readonly id: string;
  readonly mode: string;
  readonly target: string | undefined;
  readonly primary: 'legacy' | 'target' | undefined;
  readonly sampleRate: number | undefined;
}

export interface ShadowAdminDeps {
  readonly report: ShadowReport;
  /** The routes of the live table that have a shadow block or a report. */
  readonly routes: () => readonly ShadowRouteInfo[];
}

export interface ShadowRouteView extends RouteSummary {
  readonly route: ShadowRouteInfo | null;
}

/**
 * GET /shadow: every shadowed route's summary (counts by verdict, match rate, latency of both
 * sides, top differing paths, learned noise). GET /shadow/:routeId: the same plus the last
 * mismatches with request, both bodies and the diff. Mounted on the admin app (behind its token).
 */
export function shadowAdminRouter(deps: ShadowAdminDeps): Router {
  const router = Router();
  router.get('/shadow', (_req, res) => {
    res.json({ routes: views(deps).map(({ view }) => view) });
  });
  router.get('/shadow/:routeId', (req, res) => {
    const found = views(deps, 20).find(({ view }) => view.routeId === req.params.routeId);
    if (!found) {
      res.status(404).json({ error: 'PROXY_SHADOW_UNKNOWN_ROUTE', message: `no shadow report for route "${req.params.routeId}"`, routes: views(deps).map(({ view }) => view.routeId) });
      return;
    }
    res.json({ ...found.view, mismatches: found.mismatches });
  });
  return router;
}

function views(deps: ShadowAdminDeps, topPaths = 10) {
  const live = new Map(deps.routes().map((route) => [route.id, route]));
  const ids = new Set([...live.keys(), ...deps.report.routes().map((route) => route.routeId)]);
  return [...ids].map((id) => {
    const report = deps.report.route(id);
    const view: ShadowRouteView = { ...report.summary(topPaths), route: live.get(id) ?? null };
    return { view, mismatches: report.mismatches() };
  });
}
