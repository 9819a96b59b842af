import { signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

describe('hostile and malformed requests', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof signInAs>>;
  beforeAll(async () => {
    t = await startTestApp();
    admin = await signInAs(t, 'admin');
  });
  afterAll(async () => t.close());

  it('answers an oversized body with 413 and changes nothing', async () => {
    const res = await admin
      .post('/admin/users')
      .type('form')
      .send({ _csrf: admin.csrf, name: 'x'.repeat(2 * 1024 * 1024), email: 'big@clinic.test', role: 'staff' });
    expect(res.status).toBe(413);
    expect(await t.dataSource.query("SELECT id FROM staff_users WHERE email = 'big@clinic.test'")).toHaveLength(0);
  });

  it('answers malformed JSON with 400 and no stack trace', async () => {
    const res = await admin
      .post('/admin/users')
      .set('Content-Type', 'application/json')
      .set('X-CSRF-Token', admin.csrf)
      .send('{"name": ');
    expect(res.status).toBe(400);
    expect(res.text).not.toMatch(/at .+\.(js|ts):\d+/);
    expect(res.text).not.toContain('SyntaxError');
  });

  it('refuses prototype-pollution keys and array values', async () => {
    const polluted = await admin
      .post('/admin/users')
      .set('X-CSRF-Token', admin.csrf)
      .send(JSON.parse('{"name":"P","email":"proto@clinic.test","role":"staff","__proto__":{"isAdmin":true}}'));
    expect(polluted.status).toBe(400);
    const arrays = await admin
      .post('/admin/users')
      .type('form')
      .send(`_csrf=${admin.csrf}&name=A&email=a@clinic.test&email=b@clinic.test&role=staff`);
    expect(arrays.status).toBe(400);
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(
      await t.dataSource.query("SELECT id FROM staff_users WHERE email IN ('proto@clinic.test', 'a@clinic.test')"),
    ).toHaveLength(0);
  });

  it('keeps the security headers and no-store on error pages', async () => {
    const res = await admin.get('/no-such-page');
    expect(res.status).toBe(404);
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.text).toContain('Reference:');
  });

  it('ignores method overrides and refuses state changes by GET', async () => {
    const override = await admin.get('/logout').set('X-HTTP-Method-Override', 'POST');
    expect(override.status).toBe(404);
    await admin.get('/account/password').expect(200);
  });

  it('turns a database failure into a 500 page with a reference, without SQL or a stack trace, and logs it', async () => {
    const broken = await startTestApp();
    try {
      const staff = await signInAs(broken, 'admin');
      await broken.dataSource.query('DROP TABLE audit_events');
      const res = await staff.get('/admin/audit');
      expect(res.status).toBe(500);
      expect(res.text).toContain('Something went wrong on our side. Nothing was changed.');
      expect(res.text).not.toMatch(/SELECT|audit_events|at .+\.(js|ts):\d+/);
    } finally {
      await broken.close();
    }
  });
});
