import request from 'supertest';
import { SYSTEM_CONTEXT } from '../../../src/audit/audit-context';
import { StaffUsersService } from '../../../src/auth/staff-users.service';
import { csrfTokenOf } from '../../support/html';
import { staffRoutesOpenedBy } from '../../support/routes';
import {
  awayFromStepBoundary,
  createStaffUserWithTotp,
  enrolAtSignIn,
  passwordStep,
  recoveryCodesOf,
  submitSecondFactor,
  totpCode,
} from '../../support/second-factor';
import { auditActions } from '../../support/sessions';
import { createStaffUser, signIn, STAFF_PASSWORD } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

type Agent = request.Agent & { csrf: string };

describe('the admin policy "require a second factor for all staff"', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof createStaffUserWithTotp>>;

  const setPolicy = async (agent: Agent, required: boolean) => {
    const page = await agent.get('/admin/security').expect(200);
    return agent
      .post('/admin/security')
      .redirects(1)
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), requireSecondFactor: String(required) });
  };

  beforeAll(async () => {
    t = await startTestApp();
    admin = await createStaffUserWithTotp(t, 'admin', 'Ada Admin');
  });
  afterAll(async () => t.close());

  it('is off by default outside production, and an admin without a second factor cannot turn it on', async () => {
    const page = await admin.agent.get('/admin/security').expect(200);
    expect(page.text).toContain('Off:');
    expect(page.text).toContain('off outside production');
    const other = await createStaffUser(t, 'admin', 'Otto Other');
    const agent = await signIn(t, other.email, other.password);
    const res = await setPolicy(agent, true);
    expect(res.status).toBe(409);
    expect(res.text).toContain('Set up your own second factor');
  });

  it('once on, signs out staff without a second factor, sends them to enrolment after the password, and opens nothing else', async () => {
    const staff = await createStaffUser(t, 'staff', 'Sam Plain');
    const before = await signIn(t, staff.email, staff.password);
    expect((await setPolicy(admin.agent, true)).status).toBe(200);
    expect((await admin.agent.get('/admin/security').expect(200)).text).toContain('On:');
    const signedOut = await before.get('/account/password');
    expect(signedOut.status).toBe(303);

    const { agent, location } = await passwordStep(t, staff.email, staff.password);
    expect(location).toBe('/login/second-factor/enrol');
    expect((await agent.get('/login/second-factor')).headers.location).toBe('/login/second-factor/enrol');
    const page = await agent.get('/login/second-factor/enrol').expect(200);
    const csrf = csrfTokenOf(page.text);
    expect(await staffRoutesOpenedBy(t, agent, csrf)).toEqual([]);
    // Nor can the enrolling session use the second step's code or passkey routes.
    expect((await agent.post('/login/second-factor').type('form').send({ _csrf: csrf, code: '123456' })).status).toBe(303);
    expect(await auditActions(t.dataSource, "action = 'admin.mfa_policy_changed'")).toEqual([
      expect.objectContaining({ actor_id: admin.id, details: expect.stringContaining('"to":true') }),
    ]);
  });

  it('signs the user in once they confirm an authenticator app, showing their recovery codes', async () => {
    const staff = await createStaffUser(t, 'staff', 'Eve Enrol');
    const { agent } = await passwordStep(t, staff.email, staff.password);
    const wrong = await agent.get('/login/second-factor/enrol').expect(200);
    const bad = await agent
      .post('/login/second-factor/enrol/totp')
      .type('form')
      .send({ _csrf: csrfTokenOf(wrong.text), code: '12345' });
    expect(bad.status).toBe(400);
    const { res } = await enrolAtSignIn(agent);
    expect(res.status).toBe(200);
    expect(recoveryCodesOf(res.text)).toHaveLength(10);
    await agent.get('/account/security').expect(200);
    expect((await auditActions(t.dataSource, 'actor_id = ?', [staff.id])).map((event) => event.action)).toEqual(
      expect.arrayContaining(['staff.totp_enrolled', 'staff.second_factor']),
    );
  });

  it('lets a new admin from admin:create choose a password first, then enrol, then work', async () => {
    const users = t.app.get(StaffUsersService);
    const { user, temporaryPassword } = await users.create(
      { email: 'first.admin@clinic.test', name: 'Fiona First', role: 'admin' },
      { ...SYSTEM_CONTEXT, actorLabel: 'cli:admin:create' },
    );
    const agent = request.agent(t.server) as Agent;
    const login = await agent.get('/login').expect(200);
    await agent
      .post('/login')
      .type('form')
      .send({ _csrf: csrfTokenOf(login.text), email: user.email, password: temporaryPassword })
      .expect(303);
    // The one-time password opens the password change only.
    expect((await agent.get('/admin/users')).headers.location).toBe('/account/password');
    const form = await agent.get('/account/password').expect(200);
    const changed = await agent
      .post('/account/password')
      .type('form')
      .send({
        _csrf: csrfTokenOf(form.text),
        currentPassword: temporaryPassword,
        newPassword: STAFF_PASSWORD,
        confirmPassword: STAFF_PASSWORD,
      });
    expect(changed.status).toBe(303);
    expect(changed.headers.location).toBe('/login/second-factor/enrol');
    expect((await agent.get('/admin/users')).status).toBe(303);
    const { res } = await enrolAtSignIn(agent);
    expect(res.status).toBe(200);
    await agent.get('/admin/users').expect(200);
  });

  it('after an admin password reset, a user with an app passes the second step and then changes the password', async () => {
    await awayFromStepBoundary();
    const staff = await createStaffUserWithTotp(t, 'staff', 'Rita Reset');
    const { temporaryPassword } = await t.app
      .get(StaffUsersService)
      .resetPassword(staff.id, { ...SYSTEM_CONTEXT, actorId: admin.id });
    const { agent, location } = await passwordStep(t, staff.email, temporaryPassword);
    expect(location).toBe('/login/second-factor');
    expect((await submitSecondFactor(agent, await totpCode(staff.secret))).status).toBe(303);
    expect((await agent.get('/account/security')).headers.location).toBe('/account/password');
    const form = await agent.get('/account/password').expect(200);
    const newPassword = 'a brand new passphrase for rita here';
    const changed = await agent
      .post('/account/password')
      .redirects(1)
      .type('form')
      .send({ _csrf: csrfTokenOf(form.text), currentPassword: temporaryPassword, newPassword, confirmPassword: newPassword });
    expect(changed.status).toBe(200);
    await agent.get('/account/security').expect(200);
  });

  it('refuses to remove the last second factor while the policy is on', async () => {
    const staff = await createStaffUserWithTotp(t, 'staff', 'Leo Last');
    const page = await staff.agent.get('/account/security').expect(200);
    const res = await staff.agent
      .post('/account/security/totp/remove')
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text) });
    expect(res.status).toBe(409);
    expect(
      await t.dataSource.query('SELECT staff_user_id FROM staff_totp WHERE staff_user_id = ? AND enabled_at IS NOT NULL', [
        staff.id,
      ]),
    ).toHaveLength(1);
  });

  it('an admin reset signs the user out and makes them enrol again', async () => {
    const staff = await createStaffUserWithTotp(t, 'staff', 'Nina Newphone');
    const users = await admin.agent.get('/admin/users').expect(200);
    expect(users.text).toContain(`/admin/users/${staff.id}/reset-second-factor`);
    expect(users.text).not.toContain(`/admin/users/${admin.id}/reset-second-factor`);
    const res = await admin.agent
      .post(`/admin/users/${staff.id}/reset-second-factor`)
      .redirects(1)
      .type('form')
      .send({ _csrf: csrfTokenOf(users.text) })
      .expect(200);
    expect(res.text).toContain('second factor was reset');
    expect((await staff.agent.get('/account/security')).status).toBe(303);
    expect(await t.dataSource.query('SELECT staff_user_id FROM staff_totp WHERE staff_user_id = ?', [staff.id])).toEqual([]);
    expect(await t.dataSource.query('SELECT id FROM staff_recovery_codes WHERE staff_user_id = ?', [staff.id])).toEqual([]);
    const { location } = await passwordStep(t, staff.email, staff.password);
    expect(location).toBe('/login/second-factor/enrol');
    expect(await auditActions(t.dataSource, "action = 'admin.staff_second_factor_reset'")).toEqual([
      expect.objectContaining({ actor_id: admin.id, details: expect.stringContaining(`"staffUserId":${staff.id}`) }),
    ]);
  });

  it('an admin cannot reset their own second factor', async () => {
    const page = await admin.agent.get('/admin/users').expect(200);
    const res = await admin.agent
      .post(`/admin/users/${admin.id}/reset-second-factor`)
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text) });
    expect(res.status).toBe(409);
    expect(res.text).toContain('cannot reset your own second factor');
    await admin.agent.get('/admin/users').expect(200);
  });

  it('turned off again, lets staff sign in with a password alone', async () => {
    expect((await setPolicy(admin.agent, false)).status).toBe(200);
    const staff = await createStaffUser(t, 'staff', 'Paul Password');
    const { location } = await passwordStep(t, staff.email, staff.password);
    expect(location).toBe('/');
  });
});
