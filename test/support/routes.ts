import type { TestApp } from './test-app';

export interface Route {
  method: string;
  path: string;
}

/** Routes open without a staff session. Adding @Public() anywhere else makes the deny-by-default test fail on purpose. */
export const PUBLIC_ROUTES = [/^GET \/login$/, /^POST \/login$/, /^GET \/(healthz|readyz)$/, /^(GET|POST) \/setup$/, /^GET \/metrics$/, /^(GET|POST) \/portal(\/.*)?$/];

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

/**
 * Requests every staff route (not public, not the second step) with this agent, as a page
 * and as an htmx fragment; POSTs carry the session's CSRF token so only the guard decides.
 * Returns the routes that were NOT sent to sign-in (expected: none).
 */
export async function staffRoutesOpenedBy(t: TestApp, agent: import('supertest').Agent, csrf: string): Promise<string[]> {
  const routes = registeredRoutes(t).filter((route) => !isPublicRoute(route) && !SECOND_STEP_ROUTES.test(`${route.method} ${route.path}`));
  if (routes.length < 10) throw new Error('Too few routes registered for a meaningful walk');
  const opened: string[] = [];
  for (const route of routes) {
    for (const htmx of [false, true]) {
      const req = agent[route.method.toLowerCase() as 'get' | 'post'](route.path);
      if (htmx) req.set('HX-Request', 'true');
      const res = route.method === 'POST' ? await req.set('X-CSRF-Token', csrf).type('form').send({}) : await req;
      const toSignIn = htmx ? res.status === 401 && /^\/login\?next=/.test(res.headers['hx-redirect'] ?? '') : res.status === 303 && /^\/login\?next=/.test(res.headers.location ?? '');
      if (!toSignIn) opened.push(`${route.method} ${route.path}${htmx ? ' (htmx)' : ''} → ${res.status}`);
    }
  }
  return opened;
}

/** The GET routes a signed-in staff member opens as pages (not public, not the second step). */
export function staffPageRoutes(t: TestApp): Route[] {
  return registeredRoutes(t).filter((route) => route.method === 'GET' && !isPublicRoute(route) && !SECOND_STEP_ROUTES.test(`${route.method} ${route.path}`));
}
