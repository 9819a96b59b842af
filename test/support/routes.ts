import { RequestMethod, type Type } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer } from '@nestjs/core';
import type { TestApp } from './test-app';

export interface Route {
  method: string;
  path: string;
}

/** Routes open without a staff session. Adding @Public() anywhere else makes the deny-by-default test fail on purpose. */
export const PUBLIC_ROUTES = [
  /^GET \/login$/,
  /^POST \/login$/,
  /^GET \/(healthz|readyz)$/,
  /^(GET|POST) \/setup$/,
  /^GET \/metrics$/,
];

/** The patient side: every route under /portal, decided by the patient guard rather than the staff one. */
export const isPortalRoute = (route: Route) => route.path === '/portal' || route.path.startsWith('/portal/');

/**
 * Patient routes open without a patient session (@PortalPublic): sign-in, sign-out, forgot
 * password and the emailed links. Every other /portal route must send an anonymous visitor to
 * the portal sign-in; marking one more @PortalPublic() makes the deny-by-default test fail on purpose.
 */
export const PORTAL_PUBLIC_ROUTES = [
  /^(GET|POST) \/portal\/login$/,
  /^POST \/portal\/logout$/,
  /^GET \/portal\/language\/1$/,
  /^(GET|POST) \/portal\/forgot-password$/,
  /^GET \/portal\/forgot-password\/sent$/,
  /^GET \/portal\/(invite|reset)\/1$/,
  /^(GET|POST) \/portal\/(invite|reset)$/,
  /^GET \/portal\/account-ready$/,
  /^POST \/portal\/new-link$/,
  /^GET \/portal\/new-link\/sent$/,
  /^POST \/portal\/(invite|reset|activate)\/identity$/,
  /^GET \/portal\/activate\/1$/,
  /^(GET|POST) \/portal\/activate$/,
  /^POST \/portal\/activate\/code$/,
  /^GET \/portal\/email-change\/(confirm|report)\/1$/,
  /^(GET|POST) \/portal\/email-change\/(confirm|report)$/,
  /^GET \/portal\/email-change\/(confirmed|reported)$/,
  // The second sign-in step: the half-signed-in state is checked by its service, and grants nothing else.
  /^(GET|POST) \/portal\/login\/second-step$/,
  /^POST \/portal\/login\/second-step\/passkey(\/options)?$/,
];
export const isPortalPublicRoute = (route: Route) =>
  PORTAL_PUBLIC_ROUTES.some((pattern) => pattern.test(`${route.method} ${route.path}`));

/** The second sign-in step: reachable only in the half-signed-in state, where it grants nothing else. */
export const SECOND_STEP_ROUTES = /^(GET|POST) \/login\/second-factor(\/.*)?$/;

/** Every route Nest registered on the Express router, with path parameters filled in. */
export function registeredRoutes(t: TestApp): Route[] {
  const router = (
    t.app.getHttpAdapter().getInstance() as {
      router: { stack: Array<{ route?: { path: string; methods: Record<string, boolean> } }> };
    }
  ).router;
  return router.stack
    .filter((layer) => layer.route)
    .flatMap((layer) =>
      Object.keys(layer.route!.methods).map((method) => ({
        method: method.toUpperCase(),
        path: layer.route!.path.replace(/:[A-Za-z]+/g, '1'),
      })),
    );
}

export const isPublicRoute = (route: Route) => PUBLIC_ROUTES.some((pattern) => pattern.test(`${route.method} ${route.path}`));

/** The staff side: every route that is not under /portal. */
export const staffRoutes = (t: TestApp) => registeredRoutes(t).filter((route) => !isPortalRoute(route));

/**
 * Requests every staff route (not public, not the second step) with this agent, as a page
 * and as an htmx fragment; POSTs carry the session's CSRF token so only the guard decides.
 * Returns the routes that were NOT sent to sign-in (expected: none).
 */
export async function staffRoutesOpenedBy(t: TestApp, agent: import('supertest').Agent, csrf: string): Promise<string[]> {
  const routes = staffRoutes(t).filter(
    (route) => !isPublicRoute(route) && !SECOND_STEP_ROUTES.test(`${route.method} ${route.path}`),
  );
  if (routes.length < 10) throw new Error('Too few routes registered for a meaningful walk');
  const opened: string[] = [];
  for (const route of routes) {
    for (const htmx of [false, true]) {
      const req = agent[route.method.toLowerCase() as 'get' | 'post'](route.path);
      if (htmx) req.set('HX-Request', 'true');
      const res = route.method === 'POST' ? await req.set('X-CSRF-Token', csrf).type('form').send({}) : await req;
      const toSignIn = htmx
        ? res.status === 401 && /^\/login\?next=/.test(res.headers['hx-redirect'] ?? '')
        : res.status === 303 && /^\/login\?next=/.test(res.headers.location ?? '');
      if (!toSignIn) opened.push(`${route.method} ${route.path}${htmx ? ' (htmx)' : ''} → ${res.status}`);
    }
  }
  return opened;
}

/** The GET routes a signed-in staff member opens as pages (not public, not the second step). */
export function staffPageRoutes(t: TestApp): Route[] {
  return staffRoutes(t).filter(
    (route) => route.method === 'GET' && !isPublicRoute(route) && !SECOND_STEP_ROUTES.test(`${route.method} ${route.path}`),
  );
}

/** A route with the method and class that carry its decorators' metadata. */
export type RouteHandler = Route & { handler: (...args: unknown[]) => unknown; controller: Type };

/** Each registered route's handler with its controller, to read the access metadata a route carries. */
export function routeHandlers(t: TestApp): RouteHandler[] {
  const join = (...parts: string[]) =>
    '/' +
    parts
      .flatMap((part) => part.split('/'))
      .filter(Boolean)
      .join('/');
  const found: RouteHandler[] = [];
  for (const module of t.app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as Type;
      const prefixes = [Reflect.getMetadata(PATH_METADATA, controller) ?? ''].flat() as string[];
      for (const name of Object.getOwnPropertyNames(controller.prototype)) {
        const handler = controller.prototype[name];
        if (typeof handler !== 'function' || name === 'constructor') continue;
        const paths = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
        if (paths === undefined) continue;
        const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number];
        for (const prefix of prefixes)
          for (const path of [paths].flat())
            found.push({ method, path: join(prefix, path).replace(/:[A-Za-z]+/g, '1'), handler, controller });
      }
    }
  }
  return found;
}
