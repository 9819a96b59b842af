import request from 'supertest';
import { csrfTokenOf } from '../../support/html';
import { auditActions } from '../../support/sessions';
import { createStaffUser, signIn, signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

const temporaryPasswordOf = (html: string) => /data-testid="temporary-password">([^<]+)</.exec(html)![1];

describe('an admin managing staff users', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof signInAs>>;
  beforeAll(async () => {
    t = await startTestApp();
    admin = await signInAs(t, 'admin');
  });
  afterAll(async () => t.close());

  it('lists staff users', async () => {
    const res = await admin.get('/admin/users').expect(200);
    expect(res.text).toContain(admin.user.email);
    expect(res.text).toContain('(you)');
  });

  it('creates a staff user whose one-time password works once and must be changed at first sign-in', async () => {
    const res = await admin
      .post('/admin/users')
      .redirects(1)
      .type('form')
      .send({ _csrf: admin.csrf, name: 'Nora Nurse', email: 'Nora.Nurse@Clinic.test', role: 'staff' });
    expect(res.status).toBe(200);
    const temporary = temporaryPasswordOf(res.text);
    const [row] = await t.dataSource.query(
      "SELECT email, role, must_change_password, password_hash FROM staff_users WHERE email = 'nora.nurse@clinic.test'",
    );
    expect(row.role).toBe('staff');
    expect(Boolean(Number(row.must_change_password))).toBe(true);
    expect(row.password_hash).not.toContain(temporary);

    const nora = request.agent(t.server);
    const page = await nora.get('/login');
    await nora
      .post('/login')
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), email: 'nora.nurse@clinic.test', password: temporary })
      .expect(303);
    const blocked = await nora.get('/admin/users');
    expect(blocked.status).toBe(303);
    expect(blocked.headers.location).toBe('/account/password');
    const form = await nora.get('/account/password').expect(200);
    expect(form.text).toContain('one-time password');
    await nora
      .post('/account/password')
      .redirects(1)
      .type('form')
      .send({
        _csrf: csrfTokenOf(form.text),
        currentPassword: temporary,
        newPassword: 'lantern meadow copper violin',
        confirmPassword: 'lantern meadow copper violin',
      })
      .expect(200);
    await nora.get('/account/password').expect(200);
    const events = await auditActions(t.dataSource, 'action = ?', ['admin.staff_created']);
    expect(events.at(-1)!.actor_id).toBe(admin.user.id);
  });

  it('refuses a second account whose email differs only in case', async () => {
    await admin
      .post('/admin/users')
      .redirects(1)
      .type('form')
      .send({ _csrf: admin.csrf, name: 'Dup One', email: 'dup@clinic.test', role: 'staff' })
      .expect(200);
    const res = await admin
      .post('/admin/users')
      .type('form')
      .send({ _csrf: admin.csrf, name: 'Dup Two', email: 'DUP@clinic.test', role: 'staff' });
    expect(res.status).toBe(400);
    expect(res.text).toContain('A staff user with that email already exists.');
    const [{ total }] = await t.dataSource.query("SELECT COUNT(*) AS total FROM staff_users WHERE email = 'dup@clinic.test'");
    expect(Number(total)).toBe(1);
  });

  it.each([
    [{ name: '', email: 'empty@clinic.test', role: 'staff' }, 'Enter a name'],
    [{ name: 'x'.repeat(101), email: 'long@clinic.test', role: 'staff' }, 'Enter a name of 1 to 100 characters'],
    [{ name: 'Bad Role', email: 'role@clinic.test', role: 'superuser' }, 'Choose a role'],
    [{ name: 'Bad Email', email: 'not-an-email', role: 'staff' }, 'Enter a valid email address'],
    [{ name: 'Nul\u0000Byte', email: 'nul@clinic.test', role: 'staff' }, 'cannot be used'],
  ])('re-renders the form with a clear message for bad input %#, creating nothing', async (form, message) => {
    const before = await t.dataSource.query('SELECT COUNT(*) AS total FROM staff_users');
    const res = await admin
      .post('/admin/users')
      .type('form')
      .send({ _csrf: admin.csrf, ...form });
    expect(res.status).toBe(400);
    expect(res.text).toContain(message);
    expect(res.text).toContain('<form method="post" action="/admin/users"');
    expect(await t.dataSource.query('SELECT COUNT(*) AS total FROM staff_users')).toEqual(before);
  });

  it('refuses a password field on the create form (admins never set passwords)', async () => {
    const res = await admin
      .post('/admin/users')
      .type('form')
      .send({ _csrf: admin.csrf, name: 'Pat', email: 'pat@clinic.test', role: 'staff', password: 'chosen by the admin 123' });
    expect(res.status).toBe(400);
    expect(await t.dataSource.query("SELECT id FROM staff_users WHERE email = 'pat@clinic.test'")).toHaveLength(0);
  });

  it('disables a user, which ends their session at once, and enables them again', async () => {
    const user = await createStaffUser(t);
    const session = await signIn(t, user.email, user.password);
    await admin
      .post(`/admin/users/${user.id}/disabled`)
      .redirects(1)
      .type('form')
      .send({ _csrf: admin.csrf, disabled: 'true' })
      .expect(200);
    expect((await session.get('/account/password')).status).toBe(303);
    const retry = request.agent(t.server);
    const page = await retry.get('/login');
    expect(
      (
        await retry
          .post('/login')
          .type('form')
          .send({ _csrf: csrfTokenOf(page.text), email: user.email, password: user.password })
      ).status,
    ).toBe(401);
    await admin
      .post(`/admin/users/${user.id}/disabled`)
      .redirects(1)
      .type('form')
      .send({ _csrf: admin.csrf, disabled: 'false' })
      .expect(200);
    await signIn(t, user.email, user.password);
    const actions = (await auditActions(t.dataSource, 'actor_id = ?', [admin.user.id])).map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['admin.staff_disabled', 'admin.staff_enabled']));
  });

  it('changes a role and refuses to let admins disable or demote themselves', async () => {
    const user = await createStaffUser(t);
    await admin
      .post(`/admin/users/${user.id}/role`)
      .redirects(1)
      .type('form')
      .send({ _csrf: admin.csrf, role: 'admin' })
      .expect(200);
    const [row] = await t.dataSource.query('SELECT role FROM staff_users WHERE id = ?', [user.id]);
    expect(row.role).toBe('admin');
    const self = await admin
      .post(`/admin/users/${admin.user.id}/disabled`)
      .type('form')
      .send({ _csrf: admin.csrf, disabled: 'true' });
    expect(self.status).toBe(409);
    expect(self.text).toContain('You cannot disable your own account.');
    const demote = await admin.post(`/admin/users/${admin.user.id}/role`).type('form').send({ _csrf: admin.csrf, role: 'staff' });
    expect(demote.status).toBe(409);
  });

  it('never removes the last active admin', async () => {
    const t2 = await startTestApp();
    try {
      const only = await signInAs(t2, 'admin');
      const other = await createStaffUser(t2, 'admin');
      await t2.dataSource.query('UPDATE staff_users SET disabled = 1 WHERE id = ?', [other.id]);
      // Seen from a second admin who is then the one acting: the last active admin stays.
      const second = await signInAs(t2, 'admin');
      await second
        .post(`/admin/users/${only.user.id}/disabled`)
        .redirects(1)
        .type('form')
        .send({ _csrf: second.csrf, disabled: 'true' })
        .expect(200);
      const res = await second
        .post(`/admin/users/${second.user.id}/role`)
        .type('form')
        .send({ _csrf: second.csrf, role: 'staff' });
      expect(res.status).toBe(409);
      const [{ admins }] = await t2.dataSource.query(
        "SELECT COUNT(*) AS admins FROM staff_users WHERE role = 'admin' AND disabled = 0",
      );
      expect(Number(admins)).toBe(1);
    } finally {
      await t2.close();
    }
  });

  it('resets a password to a one-time one that must be changed, and unlocks a locked user', async () => {
    const user = await createStaffUser(t);
    await t.dataSource.query('UPDATE staff_users SET locked_until = ?, failed_login_count = 0 WHERE id = ?', [
      '2999-01-01 00:00:00',
      user.id,
    ]);
    const list = await admin.get('/admin/users').expect(200);
    expect(list.text).toContain(`/admin/users/${user.id}/unlock`);
    await admin.post(`/admin/users/${user.id}/unlock`).redirects(1).type('form').send({ _csrf: admin.csrf }).expect(200);
    await signIn(t, user.email, user.password);
    const res = await admin
      .post(`/admin/users/${user.id}/reset-password`)
      .redirects(1)
      .type('form')
      .send({ _csrf: admin.csrf })
      .expect(200);
    const temporary = temporaryPasswordOf(res.text);
    const old = request.agent(t.server);
    const page = await old.get('/login');
    expect(
      (
        await old
          .post('/login')
          .type('form')
          .send({ _csrf: csrfTokenOf(page.text), email: user.email, password: user.password })
      ).status,
    ).toBe(401);
    const agent = request.agent(t.server);
    const login = await agent.get('/login');
    await agent
      .post('/login')
      .type('form')
      .send({ _csrf: csrfTokenOf(login.text), email: user.email, password: temporary })
      .expect(303);
    expect((await agent.get('/admin/users')).headers.location).toBe('/account/password');
  });

  it('rejects admin POSTs without a CSRF token', async () => {
    const res = await admin
      .post('/admin/users')
      .type('form')
      .send({ name: 'No Token', email: 'notoken@clinic.test', role: 'staff' });
    expect(res.status).toBe(403);
    expect(await t.dataSource.query("SELECT id FROM staff_users WHERE email = 'notoken@clinic.test'")).toHaveLength(0);
  });
});

describe('a staff member without the admin role', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  it('gets 403 on every admin page and action, and the menu has no Admin entry', async () => {
    const staff = await signInAs(t, 'staff');
    const other = await createStaffUser(t);
    expect((await staff.get('/admin/users')).status).toBe(403);
    expect((await staff.get('/admin/users/new')).status).toBe(403);
    expect(
      (
        await staff
          .post('/admin/users')
          .type('form')
          .send({ _csrf: staff.csrf, name: 'X', email: 'x@clinic.test', role: 'admin' })
      ).status,
    ).toBe(403);
    expect(
      (await staff.post(`/admin/users/${other.id}/role`).type('form').send({ _csrf: staff.csrf, role: 'admin' })).status,
    ).toBe(403);
    expect((await staff.post(`/admin/users/${other.id}/reset-password`).type('form').send({ _csrf: staff.csrf })).status).toBe(
      403,
    );
    const page = await staff.get('/account/password');
    expect(page.text).not.toContain('/admin/users');
  });
});
