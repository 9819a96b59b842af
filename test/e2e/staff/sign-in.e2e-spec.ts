import request from 'supertest';
import { csrfTokenOf } from '../../support/html';
import { auditActions, patchStaffSessions, readStaffSessions } from '../../support/sessions';
import { createStaffUser, signIn, signInAs, STAFF_PASSWORD } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

async function attempt(
  t: TestApp,
  email: string,
  password: string,
  extra: Record<string, string> = {},
  headers: Record<string, string> = {},
) {
  const agent = request.agent(t.server);
  const page = await agent.get('/login');
  const req = agent.post('/login').type('form');
  for (const [name, value] of Object.entries(headers)) req.set(name, value);
  return req.send({ _csrf: csrfTokenOf(page.text), email, password, ...extra });
}

/** Rate limits count in fixed one-minute windows: start a burst well inside one. */
async function awayFromMinuteBoundary(): Promise<void> {
  const intoWindow = Date.now() % 60_000;
  if (intoWindow > 55_000) await new Promise((resolve) => setTimeout(resolve, 60_000 - intoWindow + 50));
}

const maskToken = (html: string) => html.replace(/value="[^"]{20,}"/g, 'value="…"').replace(/"X-CSRF-Token": "[^"]+"/g, '');

describe('staff sign-in', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  it('signs in through the form, regenerates the session id and lands on the requested page', async () => {
    const user = await createStaffUser(t);
    const agent = request.agent(t.server);
    const page = await agent.get('/login?next=%2Faccount%2Fpassword').expect(200);
    // The sign-in page itself stores no session (only a CSRF nonce cookie).
    expect(String(page.headers['set-cookie'])).not.toMatch(/staff\.sid=/);
    const res = await agent
      .post('/login')
      .type('form')
      .send({
        _csrf: csrfTokenOf(page.text),
        email: user.email.toUpperCase(),
        password: user.password,
        next: '/account/password',
      });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/account/password');
    expect(/staff\.sid=([^;]+)/.exec(String(res.headers['set-cookie']))![1]).toBeTruthy();
    expect(String(res.headers['set-cookie'])).toMatch(/HttpOnly/);
    expect(String(res.headers['set-cookie'])).toMatch(/SameSite=Lax/);
  });

  it('refuses the pre-login session id after sign-in (no session fixation)', async () => {
    const user = await createStaffUser(t);
    // The attacker holds a stored session (their own half-finished sign-in would do; here a sign-in of their own).
    const attackerUser = await createStaffUser(t);
    const attacker = await signIn(t, attackerUser.email, attackerUser.password);
    const fixed = (await attacker.jar.getCookie('staff.sid', { domain: '127.0.0.1', path: '/', secure: false, script: false }))!
      .value;
    // The victim signs in with the attacker's planted cookie.
    const page = await request(t.server).get('/login').set('Cookie', `staff.sid=${fixed}`);
    const victim = await request(t.server)
      .post('/login')
      .set('Cookie', `staff.sid=${fixed}`)
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), email: user.email, password: user.password })
      .expect(303);
    expect(/staff\.sid=([^;]+)/.exec(String(victim.headers['set-cookie']))![1]).not.toBe(fixed);
    const res = await request(t.server).get('/account/password').set('Cookie', `staff.sid=${fixed}`);
    expect(res.status).toBe(303);
    expect(res.headers.location).toMatch(/^\/login/);
  });

  it('answers unknown email, wrong password and disabled account with the same page', async () => {
    const user = await createStaffUser(t);
    const disabled = await createStaffUser(t);
    await t.dataSource.query('UPDATE staff_users SET disabled = 1 WHERE id = ?', [disabled.id]);
    const unknown = await attempt(t, 'nobody@clinic.test', STAFF_PASSWORD);
    const wrong = await attempt(t, user.email, 'not the right password at all');
    const off = await attempt(t, disabled.email, STAFF_PASSWORD);
    for (const res of [unknown, wrong, off]) expect(res.status).toBe(401);
    const bodies = [unknown, wrong, off].map((res) => maskToken(res.text).replace(/value="[^"]*@clinic\.test"/, 'value="…"'));
    expect(bodies[1]).toBe(bodies[0]);
    expect(bodies[2]).toBe(bodies[0]);
    expect(unknown.text).toContain('That email and password did not work');
    expect([unknown, wrong, off].map((res) => res.headers['set-cookie'] === undefined)).toEqual([true, true, true]);
  });

  it('locks an account for 15 minutes after 5 failures, even with the right password, and audits it', async () => {
    const user = await createStaffUser(t);
    for (let i = 0; i < 5; i++) expect((await attempt(t, user.email, `wrong password number ${i}`)).status).toBe(401);
    expect((await attempt(t, user.email, user.password)).status).toBe(401);
    const [row] = await t.dataSource.query('SELECT locked_until FROM staff_users WHERE id = ?', [user.id]);
    expect(row.locked_until).not.toBeNull();
    const events = await auditActions(t.dataSource, 'actor_id = ?', [user.id]);
    expect(events.filter((e) => e.action === 'staff.locked_out')).toHaveLength(1);
    expect(events.filter((e) => e.action === 'staff.sign_in' && e.outcome === 'failure')).toHaveLength(6);
    expect(events.every((e) => e.ip)).toBe(true);
  });

  it('resets the failure count after a successful sign-in', async () => {
    const user = await createStaffUser(t);
    for (let i = 0; i < 4; i++) await attempt(t, user.email, `wrong password number ${i}`);
    expect((await attempt(t, user.email, user.password)).status).toBe(303);
    const [row] = await t.dataSource.query('SELECT failed_login_count FROM staff_users WHERE id = ?', [user.id]);
    expect(Number(row.failed_login_count)).toBe(0);
  });

  it.each([
    '//evil.test',
    '/\\evil.test',
    'https:evil.test',
    '%2F%2Fevil.test',
    'https://evil.test/',
    '/%2F%2Fevil.test',
    'javascript:alert(1)',
  ])('refuses to redirect to %s after sign-in', async (next) => {
    const user = await createStaffUser(t);
    const res = await attempt(t, user.email, user.password, { next });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/');
  });

  it('rejects a sign-in POST without its CSRF token and changes nothing', async () => {
    const user = await createStaffUser(t);
    const res = await request(t.server).post('/login').type('form').send({ email: user.email, password: user.password });
    expect(res.status).toBe(403);
    expect(res.headers['set-cookie'] ?? []).not.toEqual(expect.arrayContaining([expect.stringMatching(/staff\.sid/)]));
  });

  it('signs out by POST only, ends the session and audits it', async () => {
    const agent = await signInAs(t);
    await agent.get('/logout').expect(404);
    await agent.post('/logout').type('form').send({ _csrf: agent.csrf }).expect(303);
    const res = await agent.get('/account/password');
    expect(res.status).toBe(303);
    const events = await auditActions(t.dataSource, 'actor_id = ? AND action = ?', [agent.user.id, 'staff.sign_out']);
    expect(events).toHaveLength(1);
  });

  it('ends a session idle for longer than the timeout, and background polling does not keep it alive', async () => {
    const agent = await signInAs(t);
    const almostIdle = Date.now() - 14 * 60_000;
    await patchStaffSessions(t.dataSource, { lastActivityAt: almostIdle });
    await agent.get('/account/password').set('X-Background-Poll', '1').expect(200);
    expect((await readStaffSessions(t.dataSource)).some((s) => s.lastActivityAt === almostIdle)).toBe(true);
    await patchStaffSessions(t.dataSource, { lastActivityAt: Date.now() - 16 * 60_000 });
    const res = await agent.get('/account/password');
    expect(res.status).toBe(303);
    expect(res.headers.location).toMatch(/^\/login\?next=/);
  });

  it('ends a session after its absolute lifetime, however active it was', async () => {
    const agent = await signInAs(t);
    await patchStaffSessions(t.dataSource, { signedInAt: Date.now() - 13 * 3_600_000, lastActivityAt: Date.now() });
    const res = await agent.get('/account/password');
    expect(res.status).toBe(303);
    expect(res.headers.location).toMatch(/^\/login\?next=/);
  });

  it('sends htmx requests without a session an HX-Redirect to the sign-in page, not a login form fragment', async () => {
    const res = await request(t.server)
      .get('/admin/users')
      .set('HX-Request', 'true')
      .set('HX-Current-URL', 'http://localhost/admin/users');
    expect(res.status).toBe(401);
    expect(res.headers['hx-redirect']).toBe('/login?next=%2Fadmin%2Fusers');
    expect(res.text).toBe('');
  });

  it('stores staff passwords as argon2id hashes', async () => {
    const user = await createStaffUser(t);
    const [row] = await t.dataSource.query('SELECT password_hash FROM staff_users WHERE id = ?', [user.id]);
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(row.password_hash).not.toContain(user.password);
  });

  it('ignores a client-sent X-Forwarded-For when no proxy is trusted', async () => {
    const user = await createStaffUser(t);
    await attempt(t, user.email, 'a wrong password for the audit', {}, { 'X-Forwarded-For': '203.0.113.9' });
    const events = await auditActions(t.dataSource, 'actor_id = ? AND outcome = ?', [user.id, 'failure']);
    expect(events.at(-1)!.ip).not.toContain('203.0.113.9');
  });
});

describe('sign-in rate limit per client IP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ SIGN_IN_ATTEMPTS_PER_MINUTE: '3' });
  });
  afterAll(async () => t.close());

  it('answers 429 after the limit, whatever X-Forwarded-For says', async () => {
    await awayFromMinuteBoundary();
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push(
        (await attempt(t, `user${i}@clinic.test`, 'some wrong password', {}, { 'X-Forwarded-For': `198.51.100.${i}` })).status,
      );
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });
});

describe('the sign-in limit shared by two app instances', () => {
  it('counts attempts made through either instance against one limit', async () => {
    const a = await startTestApp({ SIGN_IN_ATTEMPTS_PER_MINUTE: '3' });
    const b = await startTestApp({ SIGN_IN_ATTEMPTS_PER_MINUTE: '3' }, a.database);
    try {
      await awayFromMinuteBoundary();
      const statuses = [
        await attempt(a, 'x@clinic.test', 'wrong password one'),
        await attempt(b, 'x@clinic.test', 'wrong password two'),
        await attempt(a, 'x@clinic.test', 'wrong password three'),
        await attempt(b, 'x@clinic.test', 'wrong password four'),
      ].map((res) => res.status);
      expect(statuses).toEqual([401, 401, 401, 429]);
    } finally {
      await b.close();
      await a.close();
    }
  });
});

describe("changing one's own password", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  it('needs the current password; success ends the other sessions and keeps this one', async () => {
    const user = await createStaffUser(t);
    const a = await signIn(t, user.email, user.password);
    const b = await signIn(t, user.email, user.password);
    const wrong = await a.post('/account/password').type('form').send({
      _csrf: a.csrf,
      currentPassword: 'not my password at all',
      newPassword: 'a brand new passphrase for me',
      confirmPassword: 'a brand new passphrase for me',
    });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain('The current password is not right.');
    await b.get('/account/password').expect(200);

    const ok = await a.post('/account/password').redirects(1).type('form').send({
      _csrf: a.csrf,
      currentPassword: user.password,
      newPassword: 'a brand new passphrase for me',
      confirmPassword: 'a brand new passphrase for me',
    });
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('Your password has been changed');
    await a.get('/account/password').expect(200);
    expect((await b.get('/account/password')).status).toBe(303);
    await signIn(t, user.email, 'a brand new passphrase for me');
  });

  it.each([
    ['Password1!', 'at least 15'],
    ['passwordpasswordpassword', 'too common'],
    ['Demo Clinic 2025!!!!!', 'clinic'],
  ])('refuses %s and explains why', async (password, reason) => {
    const agent = await signInAs(t);
    const res = await agent
      .post('/account/password')
      .type('form')
      .send({ _csrf: agent.csrf, currentPassword: STAFF_PASSWORD, newPassword: password, confirmPassword: password });
    expect(res.status).toBe(400);
    expect(res.text.toLowerCase()).toContain(reason);
  });

  it('refuses fields that are not part of the form (mass assignment)', async () => {
    const agent = await signInAs(t);
    const res = await agent
      .post('/account/password')
      .type('form')
      .send({ _csrf: agent.csrf, currentPassword: STAFF_PASSWORD, newPassword: 'x', confirmPassword: 'x', role: 'admin' });
    expect(res.status).toBe(400);
    const [row] = await t.dataSource.query('SELECT role FROM staff_users WHERE id = ?', [agent.user.id]);
    expect(row.role).toBe('staff');
  });
});
