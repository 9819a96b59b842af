import request from 'supertest';
import { signInAs } from '../../support/staff';
import { isPublicRoute, registeredRoutes } from '../../support/routes';
import { startTestApp, TestApp } from '../../support/test-app';

describe('deny by default', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  it('refuses anonymous requests on every staff route, for browsers and htmx alike', async () => {
    const routes = registeredRoutes(t).filter((route) => !isPublicRoute(route));
    expect(routes.length).toBeGreaterThan(5);
    for (const route of routes) {
      for (const htmx of [false, true]) {
        const req = request(t.server)[route.method.toLowerCase() as 'get' | 'post'](route.path);
        if (htmx) req.set('HX-Request', 'true');
        const res = await req;
        // 303/401 to sign-in, or 403 when the CSRF check stops an anonymous POST first.
        expect({ route: `${route.method} ${route.path}`, htmx, refused: [303, 401, 403].includes(res.status) }).toEqual({ route: `${route.method} ${route.path}`, htmx, refused: true });
        if (res.status === 303) expect(res.headers.location).toMatch(/^\/login\?next=/);
      }
    }
  });

  it('refuses a staff member (non-admin) on every admin route', async () => {
    const staff = await signInAs(t, 'staff');
    const adminRoutes = registeredRoutes(t).filter((route) => route.path.startsWith('/admin'));
    expect(adminRoutes.length).toBeGreaterThan(3);
    for (const route of adminRoutes) {
      const req = staff[route.method.toLowerCase() as 'get' | 'post'](route.path);
      const res = route.method === 'POST' ? await req.type('form').send({ _csrf: staff.csrf }) : await req;
      expect({ route: `${route.method} ${route.path}`, status: res.status }).toEqual({ route: `${route.method} ${route.path}`, status: 403 });
    }
  });
});
