import request from 'supertest';
import { PasswordHasher } from '../../../src/auth/passwords/password-hasher.service';
import { storedSessionId } from '../../../src/auth/session.setup';
import { csrfTokenOf } from '../../support/html';
import { createPortalPatient } from '../../support/portal-patients';
import { patchStaffSessions } from '../../support/sessions';
import { createStaffUser, signIn } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';
import { testDatabaseKind } from '../../support/test-database';

const PATIENT_PASSWORD = 'copper meadow lantern thistle';
const HTTPS = { 'X-Forwarded-Proto': 'https' };

/** The Set-Cookie lines of a response, and the `name=value` pair of each (what a browser sends back). */
const setCookies = (res: request.Response): string[] => [res.headers['set-cookie'] ?? []].flat() as string[];
const pairOf = (lines: string[], name: string) => lines.find((line) => line.startsWith(`${name}=`))?.split(';')[0];
const sidOf = (pair: string) => storedSessionId(decodeURIComponent(pair.split('=')[1]).replace(/^s:/, '').split('.')[0]);
const rowExists = async (t: TestApp, table: string, stored: string) =>
  (await t.dataSource.query(`SELECT sid FROM ${table} WHERE sid = ?`, [stored])).length === 1;

/** SECURITY.md §4 (sessions): the items not pinned by the sign-in tests of each audience. */
describe('sessions as SECURITY.md §4 asks', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  it('never takes a session id from the URL', async () => {
    const user = await createStaffUser(t);
    const agent = await signIn(t, user.email, user.password);
    const cookie = (await agent.jar.getCookie('staff.sid', { domain: '127.0.0.1', path: '/', secure: false, script: false }))!;
    const value = encodeURIComponent(cookie.value);
    for (const query of [`sid=${value}`, `staff.sid=${value}`, `connect.sid=${value}`]) {
      const res = await request(t.server).get(`/account/password?${query}`);
      expect(res.status).toBe(303);
      expect(res.headers.location).toMatch(/^\/login/);
    }
  });

  it('sign-out deletes the row, clears the cookie and the browser’s cache and storage; the old cookie is dead', async () => {
    const user = await createStaffUser(t);
    const agent = await signIn(t, user.email, user.password);
    const cookie = (await agent.jar.getCookie('staff.sid', { domain: '127.0.0.1', path: '/', secure: false, script: false }))!;
    const pair = `staff.sid=${cookie.value}`;
    expect(await rowExists(t, 'staff_sessions', sidOf(pair))).toBe(true);
    const out = await agent.post('/logout').type('form').send({ _csrf: agent.csrf }).expect(303);
    expect(out.headers['clear-site-data']).toBe('"cache", "storage"');
    expect(setCookies(out).find((line) => line.startsWith('staff.sid=;'))).toMatch(/Expires=Thu, 01 Jan 1970/);
    expect(await rowExists(t, 'staff_sessions', sidOf(pair))).toBe(false);
    const replay = await request(t.server).get('/account/password').set('Cookie', pair);
    expect(replay.status).toBe(303);
    expect(replay.headers.location).toMatch(/^\/login/);
  });

  it('an idle-expired session is refused and its row deleted at once', async () => {
    const user = await createStaffUser(t);
    const agent = await signIn(t, user.email, user.password);
    const cookie = (await agent.jar.getCookie('staff.sid', { domain: '127.0.0.1', path: '/', secure: false, script: false }))!;
    const stored = sidOf(`staff.sid=${cookie.value}`);
    await patchStaffSessions(t.dataSource, { lastActivityAt: Date.now() - (t.config.staffIdleMinutes * 60_000 + 1000) });
    const res = await agent.get('/account/password');
    expect(res.status).toBe(303);
    expect(res.headers.location).toMatch(/^\/login\?next=/);
    const deadline = Date.now() + 10_000;
    while ((await rowExists(t, 'staff_sessions', stored)) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await rowExists(t, 'staff_sessions', stored)).toBe(false);
  });

  it('a role change ends the user’s open sessions: a demoted admin’s next admin request finds no session', async () => {
    const demoter = await createStaffUser(t, 'admin');
    const demoterAgent = await signIn(t, demoter.email, demoter.password);
    const target = await createStaffUser(t, 'admin');
    const targetAgent = await signIn(t, target.email, target.password);
    await targetAgent.get('/admin/users').expect(200);
    await demoterAgent
      .post(`/admin/users/${target.id}/role`)
      .type('form')
      .send({ _csrf: demoterAgent.csrf, role: 'staff' })
      .expect(303);
    const res = await targetAgent.get('/admin/users');
    expect(res.status).toBe(303);
    expect(res.headers.location).toMatch(/^\/login/);
    // Signing in again gives a new session, with the new role.
    const again = await signIn(t, target.email, target.password);
    expect((await again.get('/admin/users')).status).toBe(403);
  });

  it('purges expired session rows of both audiences (at start, then every 15 minutes)', async () => {
    const mysql = testDatabaseKind() === 'mysql';
    const stamp = (ms: number) => {
      const iso = new Date(Date.now() + ms).toISOString();
      return mysql ? iso.slice(0, 19).replace('T', ' ') : iso;
    };
    for (const table of ['staff_sessions', 'patient_sessions']) {
      await t.dataSource.query(`INSERT INTO ${table} (sid, sess, expired) VALUES (?, ?, ?), (?, ?, ?)`, [
        `expired-${table}`,
        '{"cookie":{}}',
        stamp(-3_600_000),
        `alive-${table}`,
        '{"cookie":{}}',
        stamp(3_600_000),
      ]);
    }
    // A second instance on the same database: its stores clean up as they start.
    const other = await startTestApp({}, t.database);
    try {
      const left = async () =>
        (
          await t.dataSource.query(
            "SELECT sid FROM staff_sessions WHERE sid LIKE 'expired-%' OR sid LIKE 'alive-%' UNION ALL SELECT sid FROM patient_sessions WHERE sid LIKE 'expired-%' OR sid LIKE 'alive-%'",
          )
        )
          .map((row: { sid: string }) => row.sid)
          .sort();
      const deadline = Date.now() + 20_000;
      while ((await left()).length > 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await left()).toEqual(['alive-patient_sessions', 'alive-staff_sessions']);
    } finally {
      await other.close();
      await t.dataSource.query("DELETE FROM staff_sessions WHERE sid LIKE 'alive-%'");
      await t.dataSource.query("DELETE FROM patient_sessions WHERE sid LIKE 'alive-%'");
    }
  });
});

/**
 * With Secure on (production, behind the TLS proxy), the exact cookies: prefixed names the
 * browser enforces (`__Host-`: Secure, Path=/, no Domain), HttpOnly, SameSite=Lax (DESIGN.md).
 */
describe('the session cookies with COOKIE_SECURE on', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ COOKIE_SECURE: 'true', TRUST_PROXY_HOPS: '1' });
  });
  afterAll(async () => t.close());

  /** A browser over https (the proxy says so): keeps the cookies itself, since supertest's jar drops Secure ones over http. */
  async function signInOver(path: string, form: Record<string, string>) {
    const page = await request(t.server).get(path).set(HTTPS).expect(200);
    const nonce = pairOf(setCookies(page), '__Host-csrf.nonce');
    expect(setCookies(page)).toEqual([
      expect.stringMatching(/^__Host-csrf\.nonce=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Lax$/),
    ]);
    return request(t.server)
      .post(path)
      .set(HTTPS)
      .set('Cookie', nonce!)
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), ...form });
  }

  it('staff: __Host-staff.sid; Path=/; HttpOnly; Secure; SameSite=Lax; no Domain — and sign-out clears it the same way', async () => {
    const user = await createStaffUser(t);
    const res = await signInOver('/login', { email: user.email, password: user.password });
    expect(res.status).toBe(303);
    const lines = setCookies(res).filter((line) => line.includes('staff.sid'));
    expect(lines).toEqual([
      expect.stringMatching(/^__Host-staff\.sid=s%3A[^;]+; Path=\/; Expires=[^;]+; HttpOnly; Secure; SameSite=Lax$/),
    ]);
    const cookie = pairOf(lines, '__Host-staff.sid')!;
    const page = await request(t.server).get('/account/password').set(HTTPS).set('Cookie', cookie).expect(200);
    // The unprefixed name is not the session cookie any more.
    expect(
      (await request(t.server).get('/account/password').set(HTTPS).set('Cookie', cookie.replace('__Host-', ''))).status,
    ).toBe(303);

    const out = await request(t.server)
      .post('/logout')
      .set(HTTPS)
      .set('Cookie', cookie)
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text) })
      .expect(303);
    expect(setCookies(out)).toContainEqual(
      expect.stringMatching(
        /^__Host-staff\.sid=; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax$/,
      ),
    );
  });

  it('patients: __Secure-portal.sid; Path=/portal; HttpOnly; Secure; SameSite=Lax; no Domain', async () => {
    const username = `cookie.${Date.now() % 100000}`;
    const patient = await createPortalPatient(t, { username });
    const hash = await t.app.get(PasswordHasher).hash(PATIENT_PASSWORD);
    await t.dataSource.query('UPDATE portal_accounts SET password_hash = ? WHERE patient_id = ?', [hash, patient.id]);
    const res = await signInOver('/portal/login', { username, password: PATIENT_PASSWORD });
    expect(res.status).toBe(303);
    const lines = setCookies(res).filter((line) => line.includes('portal.sid'));
    expect(lines).toEqual([
      expect.stringMatching(/^__Secure-portal\.sid=s%3A[^;]+; Path=\/portal; Expires=[^;]+; HttpOnly; Secure; SameSite=Lax$/),
    ]);
    await request(t.server).get('/portal').set(HTTPS).set('Cookie', pairOf(lines, '__Secure-portal.sid')!).expect(200);
  });
});
