import request from 'supertest';
import { csrfTokenOf } from '../../support/html';
import { registeredRoutes, SECOND_STEP_ROUTES, staffRoutesOpenedBy } from '../../support/routes';
import {
  awayFromStepBoundary,
  createStaffUserWithTotp,
  passwordStep,
  recoveryCodesOf,
  submitSecondFactor,
  totpCode,
  totpSecretOf,
} from '../../support/second-factor';
import { auditActions, patchStaffSessions, readStaffSessions } from '../../support/sessions';
import { createStaffUser, signIn } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

const sessionCookie = (res: request.Response) => /staff\.sid=([^;]+)/.exec(String(res.headers['set-cookie']))?.[1];

describe('staff second factor: authenticator app and recovery codes', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  it('turns on an authenticator app only after a valid code, stores the secret encrypted and shows 10 recovery codes once', async () => {
    await awayFromStepBoundary();
    const user = await createStaffUser(t);
    const agent = await signIn(t, user.email, user.password);
    const setup = await agent.get('/account/security/totp').expect(200);
    expect(setup.text).toMatch(/<img class="totp-qr" src="data:image\/png;base64,/);
    const secret = totpSecretOf(setup.text);
    const csrf = csrfTokenOf(setup.text);

    const wrong = await agent
      .post('/account/security/totp')
      .type('form')
      .send({ _csrf: csrf, code: (Number(await totpCode(secret)) ^ 1).toString().padStart(6, '0') });
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain('That code did not match');
    expect(await t.dataSource.query('SELECT enabled_at FROM staff_totp WHERE staff_user_id = ?', [user.id])).toEqual([
      { enabled_at: null },
    ]);

    const ok = await agent
      .post('/account/security/totp')
      .redirects(1)
      .type('form')
      .send({ _csrf: csrf, code: await totpCode(secret) });
    expect(ok.status).toBe(200);
    const codes = recoveryCodesOf(ok.text);
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[0-9a-z]{5}-[0-9a-z]{5}$/);

    const [row] = await t.dataSource.query('SELECT secret_encrypted, enabled_at FROM staff_totp WHERE staff_user_id = ?', [
      user.id,
    ]);
    expect(row.enabled_at).not.toBeNull();
    expect(row.secret_encrypted).toMatch(/^v1:/);
    expect(row.secret_encrypted).not.toContain(secret);
    const stored: Array<{ code_hash: string }> = await t.dataSource.query(
      'SELECT code_hash FROM staff_recovery_codes WHERE staff_user_id = ?',
      [user.id],
    );
    expect(stored).toHaveLength(10);
    for (const { code_hash } of stored) expect(codes.some((code) => code_hash.includes(code.replace('-', '')))).toBe(false);

    // Shown once: the security page only counts them.
    const page = await agent.get('/account/security').expect(200);
    expect(page.text).toContain('10 unused recovery codes left');
    expect(recoveryCodesOf(page.text)).toEqual([]);
    expect(
      (await auditActions(t.dataSource, 'actor_id = ?', [user.id])).map((event) => `${event.action}:${event.outcome}`),
    ).toEqual(
      expect.arrayContaining([
        'staff.totp_enrolled:failure',
        'staff.totp_enrolled:success',
        'staff.recovery_codes_generated:success',
      ]),
    );
  });

  it('after the right password asks for the second step and issues no signed-in session', async () => {
    const user = await createStaffUserWithTotp(t);
    const { agent, location } = await passwordStep(t, user.email, user.password);
    expect(location).toBe('/login/second-factor');
    const sessions = (await readStaffSessions(t.dataSource)).filter(
      (sess) => (sess.pendingSecondFactor as { userId?: number } | undefined)?.userId === user.id,
    );
    expect(sessions).toHaveLength(1);
    expect(sessions[0].passport).toBeUndefined();
    const blocked = await agent.get('/account/security');
    expect(blocked.status).toBe(303);
    expect(blocked.headers.location).toMatch(/^\/login\?next=/);
    const page = await agent.get('/login/second-factor').expect(200);
    expect(page.text).toContain('Confirm it is you');
  });

  it('signs in with a valid code on a new session id, then refuses the same code again', async () => {
    await awayFromStepBoundary();
    const user = await createStaffUserWithTotp(t);
    const { agent } = await passwordStep(t, user.email, user.password);
    const page = await agent.get('/login/second-factor').expect(200);
    const before =
      sessionCookie(page) ??
      (await agent.jar.getCookie('staff.sid', { domain: '127.0.0.1', path: '/', secure: false, script: false }))?.value;
    const code = await totpCode(user.secret);
    const res = await agent
      .post('/login/second-factor')
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), code });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/');
    expect(sessionCookie(res)).toBeDefined();
    expect(sessionCookie(res)).not.toBe(before);
    await agent.get('/account/security').expect(200);

    const again = await passwordStep(t, user.email, user.password);
    const reused = await submitSecondFactor(again.agent, code);
    expect(reused.status).toBe(401);
    expect(reused.text).toContain('That code did not work');
    const next = await submitSecondFactor(again.agent, await totpCode(user.secret, 1));
    expect(next.status).toBe(303);
    const events = await auditActions(t.dataSource, "actor_id = ? AND action = 'staff.second_factor'", [user.id]);
    expect(events.map((event) => event.outcome)).toEqual(['success', 'failure', 'success']);
  });

  it('refuses a code from two steps away', async () => {
    await awayFromStepBoundary();
    const user = await createStaffUserWithTotp(t);
    const { agent } = await passwordStep(t, user.email, user.password);
    expect((await submitSecondFactor(agent, await totpCode(user.secret, 2))).status).toBe(401);
    expect((await submitSecondFactor(agent, await totpCode(user.secret, -2))).status).toBe(401);
    expect((await submitSecondFactor(agent, await totpCode(user.secret, 1))).status).toBe(303);
  });

  it('accepts a recovery code once and says how many remain', async () => {
    const user = await createStaffUserWithTotp(t);
    const { agent } = await passwordStep(t, user.email, user.password);
    const res = await submitSecondFactor(agent, user.recoveryCodes[0].toUpperCase().replace('-', ' '));
    // Signed in: the first page says the code is used up and how many remain (post/redirect/get).
    expect(res.status).toBe(303);
    const landed = await agent.get(res.headers.location).redirects(2).expect(200);
    expect(landed.text).toContain('You have 9 recovery codes left');
    await agent.get('/account/security').expect(200);
    expect(await auditActions(t.dataSource, "actor_id = ? AND action = 'staff.recovery_code_used'", [user.id])).toEqual([
      expect.objectContaining({ outcome: 'success', details: JSON.stringify({ remaining: 9 }) }),
    ]);

    const again = await passwordStep(t, user.email, user.password);
    const reused = await submitSecondFactor(again.agent, user.recoveryCodes[0]);
    expect(reused.status).toBe(401);
  });

  it('counts second-factor failures in the same lockout as wrong passwords', async () => {
    const user = await createStaffUserWithTotp(t);
    for (let i = 0; i < 3; i++) {
      const page = await request.agent(t.server).get('/login');
      await request(t.server)
        .post('/login')
        .set('Cookie', String(page.headers['set-cookie']))
        .type('form')
        .send({ _csrf: csrfTokenOf(page.text), email: user.email, password: 'a wrong password, typed carefully' })
        .expect(401);
    }
    // The right password does not reset the counter while the second step is pending.
    const { agent } = await passwordStep(t, user.email, user.password);
    expect((await submitSecondFactor(agent, '000000')).status).toBe(401);
    const fifth = await submitSecondFactor(agent, 'aaaaa-bbbbb');
    expect(fifth.status).toBe(401);
    expect(fifth.text).toContain('locked for 15 minutes');
    // Locked: the pending state is gone, and even the right password fails now.
    expect((await agent.get('/login/second-factor')).status).toBe(303);
    const page = await request.agent(t.server).get('/login');
    await request(t.server)
      .post('/login')
      .set('Cookie', String(page.headers['set-cookie']))
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), email: user.email, password: user.password })
      .expect(401);
    const actions = (await auditActions(t.dataSource, 'actor_id = ?', [user.id])).map(
      (event) => `${event.action}:${event.outcome}`,
    );
    expect(actions).toEqual(expect.arrayContaining(['staff.second_factor:failure', 'staff.locked_out:denied']));
  });

  it('ends the half-signed-in state after 5 minutes', async () => {
    const user = await createStaffUserWithTotp(t);
    const { agent } = await passwordStep(t, user.email, user.password);
    const sessions = await readStaffSessions(t.dataSource);
    const pending = sessions.find((sess) => (sess.pendingSecondFactor as { userId?: number } | undefined)?.userId === user.id)!
      .pendingSecondFactor as Record<string, unknown>;
    await patchStaffSessions(t.dataSource, { pendingSecondFactor: { ...pending, startedAt: Date.now() - 5 * 60_000 - 1000 } });
    const res = await agent.get('/login/second-factor');
    expect(res.status).toBe(303);
    expect(res.headers.location).toMatch(/^\/login\?next=/);
  });

  it('opens no staff page or htmx fragment to the half-signed-in session, on any registered route', async () => {
    const user = await createStaffUserWithTotp(t, 'admin');
    const { agent } = await passwordStep(t, user.email, user.password);
    const page = await agent.get('/login/second-factor').expect(200);
    const csrf = csrfTokenOf(page.text);
    expect(await staffRoutesOpenedBy(t, agent, csrf)).toEqual([]);
    // Still half-signed-in: the walk neither signed in nor ended the pending state.
    expect((await agent.get('/login/second-factor')).status).toBe(200);
    // The same walk with a signed-in session (a throwaway staff member) does open pages: the walk can tell.
    const other = await createStaffUser(t);
    const signedIn = await signIn(t, other.email, other.password);
    expect((await staffRoutesOpenedBy(t, signedIn, signedIn.csrf)).length).toBeGreaterThan(5);
  });

  it('sends an anonymous visitor from every second-step route to sign-in', async () => {
    const routes = registeredRoutes(t).filter((route) => SECOND_STEP_ROUTES.test(`${route.method} ${route.path}`));
    expect(routes.length).toBeGreaterThanOrEqual(8);
    for (const route of routes) {
      const res = await request(t.server)[route.method.toLowerCase() as 'get' | 'post'](route.path);
      expect({ route: `${route.method} ${route.path}`, refused: [303, 401, 403].includes(res.status) }).toEqual({
        route: `${route.method} ${route.path}`,
        refused: true,
      });
    }
  });

  it('removes the authenticator app and its recovery codes, audited', async () => {
    const user = await createStaffUserWithTotp(t);
    const page = await user.agent.get('/account/security').expect(200);
    const res = await user.agent
      .post('/account/security/totp/remove')
      .redirects(1)
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text) })
      .expect(200);
    expect(res.text).toContain('The authenticator app was removed.');
    expect(await t.dataSource.query('SELECT id FROM staff_recovery_codes WHERE staff_user_id = ?', [user.id])).toEqual([]);
    const { location } = await passwordStep(t, user.email, user.password);
    expect(location).toBe('/');
    expect(await auditActions(t.dataSource, "actor_id = ? AND action = 'staff.totp_removed'", [user.id])).toHaveLength(1);
  });
});
