import type { TestApp } from './test-app';

export interface Route {
  method: string;
  path: string;
}

/** Routes open without a staff session. Adding @Public() anywhere else makes the deny-by-default test fail on purpose. */
export const PUBLIC_ROUTES = [/^GET \/login$/, /^POST \/login$/, /^GET \/healthz$/, /^(GET|POST) \/portal(\/.*)?$/];

/** The second sign-in step: reachable only in the half-signed-in state, where it grants nothing else. */
export const SECOND_STEP_ROUTES = /^(GET|POST) \/login\/second-factor(\/.*)?$/;

/** Every route Nest registered on the Express router, with path parameters filled in. */
export function registeredRoutes(t: TestApp): Route[] {
  const router = (t.app.getHttpAdapter().getInstance() as { router: { stack: Array<{ route?: { path: string; methods: Record<string, boolean> } }> } }).router;
  return router.stack
    .filter((layer) => layer.route)
    .flatMap((layer) => Object.keys(layer.route!.methods).map((method) => ({ method: method.toUpperCase(), path: layer.route!.path.replace(/:[A-Za-z]+/g, '1') })));
}

export const isPublicRoute = (route: Route) => PUBLIC_ROUTES.some((pattern) => pattern.test(`${route.method} ${route.path}`));
