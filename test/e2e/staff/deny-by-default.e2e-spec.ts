import { Reflector } from '@nestjs/core';
import request from 'supertest';
import { AUDIENCE, PORTAL_PUBLIC } from '../../../src/common/access/audience';
import { signInAs } from '../../support/staff';
import {
  isPortalPublicRoute,
  isPortalRoute,
  isPublicRoute,
  registeredRoutes,
  routeHandlers,
  staffRoutes,
} from '../../support/routes';
import { startTestApp, TestApp } from '../../support/test-app';

describe('deny by default', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  it('refuses anonymous requests on every staff route, for browsers and htmx alike', async () => {
    const routes = staffRoutes(t).filter((route) => !isPublicRoute(route));
    expect(routes.length).toBeGreaterThan(5);
    for (const route of routes) {
      for (const htmx of [false, true]) {
        const req = request(t.server)[route.method.toLowerCase() as 'get' | 'post'](route.path);
        if (htmx) req.set('HX-Request', 'true');
        const res = await req;
        // 303/401 to sign-in, or 403 when the CSRF check stops an anonymous POST first.
        expect({ route: `${route.method} ${route.path}`, htmx, refused: [303, 401, 403].includes(res.status) }).toEqual({
          route: `${route.method} ${route.path}`,
          htmx,
          refused: true,
        });
        if (res.status === 303) expect(res.headers.location).toMatch(/^\/login\?next=/);
      }
    }
  });

  it('refuses anonymous requests on every patient route that is not @PortalPublic, for browsers and htmx alike', async () => {
    const routes = registeredRoutes(t).filter((route) => isPortalRoute(route) && !isPortalPublicRoute(route));
    expect(routes.map((route) => `${route.method} ${route.path}`)).toContain('GET /portal');
    for (const route of routes) {
      for (const htmx of [false, true]) {
        const req = request(t.server)[route.method.toLowerCase() as 'get' | 'post'](route.path);
        if (htmx) req.set('HX-Request', 'true');
        const res = await req;
        // 303/401 to the portal sign-in, or 403 when the CSRF check stops an anonymous POST first.
        expect({ route: `${route.method} ${route.path}`, htmx, refused: [303, 401, 403].includes(res.status) }).toEqual({
          route: `${route.method} ${route.path}`,
          htmx,
          refused: true,
        });
        if (res.status === 303) expect(res.headers.location).toMatch(/^\/portal\/login\?next=/);
        if (res.status === 401) expect(res.headers['hx-redirect']).toMatch(/^\/portal\/login\?next=/);
      }
    }
  });

  it('a staff session opens no patient route beyond the public ones', async () => {
    const staff = await signInAs(t, 'staff');
    const res = await staff.get('/portal');
    expect(res.status).toBe(303);
    expect(res.headers.location).toMatch(/^\/portal\/login\?next=/);
  });

  // The walk above only sees today's routes; this pins the rule a new route falls under.
  it('puts every /portal route under the patient guard, and opens only the listed ones', () => {
    const reflector = new Reflector();
    const handlers = routeHandlers(t);
    expect(handlers.length).toBe(registeredRoutes(t).length);
    for (const route of handlers) {
      const audience = reflector.getAllAndOverride<string | undefined>(AUDIENCE, [route.handler, route.controller]);
      const portalPublic =
        reflector.getAllAndOverride<boolean | undefined>(PORTAL_PUBLIC, [route.handler, route.controller]) === true;
      const name = `${route.method} ${route.path}`;
      // A /portal route without @PatientController would fall to the staff guard (a staff session would open it).
      expect({ name, patientAudience: audience === 'patient' }).toEqual({ name, patientAudience: isPortalRoute(route) });
      // Unmarked means signed-in patient only; @PortalPublic() only where the list says so.
      expect({ name, portalPublic }).toEqual({ name, portalPublic: isPortalRoute(route) && isPortalPublicRoute(route) });
    }
  });

  it('refuses a staff member (non-admin) on every admin route', async () => {
    const staff = await signInAs(t, 'staff');
    const adminRoutes = registeredRoutes(t).filter((route) => route.path.startsWith('/admin'));
    expect(adminRoutes.length).toBeGreaterThan(3);
    for (const route of adminRoutes) {
      const req = staff[route.method.toLowerCase() as 'get' | 'post'](route.path);
      const res = route.method === 'POST' ? await req.type('form').send({ _csrf: staff.csrf }) : await req;
      expect({ route: `${route.method} ${route.path}`, status: res.status }).toEqual({
        route: `${route.method} ${route.path}`,
        status: 403,
      });
    }
  });
});
