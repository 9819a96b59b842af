import request from 'supertest';
import { csrfTokenOf } from '../../support/html';
import { createStaffUser, signIn, signInAs, STAFF_PASSWORD } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

const passwordOf = (html: string) => /data-testid="temporary-password">([^<]+)</.exec(html)?.[1] ?? null;

/**
 * Post/redirect/get (issue 13, defect 5): every non-htmx form answers 303 to a GET page,
 * so Back and Reload never post it again; what a POST has to say is shown once on that page.
 */
describe('forms answer with post/redirect/get', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof signInAs>>;
  beforeAll(async () => {
    t = await startTestApp();
    admin = await signInAs(t, 'admin');
  });
  afterAll(async () => t.close());

  const sessionsContain = async (text: string) => {
    const rows: { sess: string | object }[] = await t.dataSource.query('SELECT sess FROM staff_sessions');
    return rows.some((row) => (typeof row.sess === 'string' ? row.sess : JSON.stringify(row.sess)).includes(text));
  };

  it('Add staff user: 303 to a page that shows the one-time password once, never in a URL; a reload neither re-posts nor shows it again', async () => {
    const posted = await admin
      .post('/admin/users')
      .type('form')
      .send({ _csrf: admin.csrf, name: 'Olive Once', email: 'olive.once@clinic.test', role: 'staff' });
    expect(posted.status).toBe(303);
    expect(posted.headers.location).toBe('/admin/users/one-time-password');
    const shown = await admin.get(posted.headers.location).expect(200);
    const password = passwordOf(shown.text)!;
    expect(password).toMatch(/^[A-HJ-NP-Za-km-z2-9]{4}(-[A-HJ-NP-Za-km-z2-9]{4}){5}$/);
    expect(shown.text).toContain('Staff user created');
    // Read once: gone from the session (the database row) and from the page on reload.
    expect(await sessionsContain(password)).toBe(false);
    const reloaded = await admin.get('/admin/users/one-time-password').expect(200);
    expect(passwordOf(reloaded.text)).toBeNull();
    expect(reloaded.text).toContain('One-time password already shown');
    expect(await t.dataSource.query("SELECT id FROM staff_users WHERE email = 'olive.once@clinic.test'")).toHaveLength(1);
    // And it is the real one.
    const olive = request.agent(t.server);
    const login = await olive.get('/login');
    await olive
      .post('/login')
      .type('form')
      .send({ _csrf: csrfTokenOf(login.text), email: 'olive.once@clinic.test', password })
      .expect(303);
  });

  it('Reset password: the same one-read page, saying "Password reset"', async () => {
    const user = await createStaffUser(t, 'staff', 'Rex Reset');
    const posted = await admin.post(`/admin/users/${user.id}/reset-password`).type('form').send({ _csrf: admin.csrf });
    expect(posted.status).toBe(303);
    expect(posted.headers.location).toBe('/admin/users/one-time-password');
    const shown = await admin.get(posted.headers.location).expect(200);
    expect(shown.text).toContain('Password reset');
    expect(passwordOf(shown.text)).not.toBeNull();
    expect(passwordOf((await admin.get(posted.headers.location)).text)).toBeNull();
  });

  it('a bad Add staff user form is re-rendered with its messages (400, nothing created), as PRG allows', async () => {
    const res = await admin
      .post('/admin/users')
      .type('form')
      .send({ _csrf: admin.csrf, name: '', email: 'not-an-email', role: 'staff' });
    expect(res.status).toBe(400);
    expect(res.text).toContain('Enter a valid email address.');
    expect(await t.dataSource.query("SELECT id FROM staff_users WHERE email = 'not-an-email'")).toHaveLength(0);
  });

  it('the staff-user actions, the security and email-change policies and the account forms answer 303, and their message shows once', async () => {
    const user = await createStaffUser(t, 'staff', 'Pia Prg');
    const cases: Array<[string, Record<string, string>, string, string]> = [
      [`/admin/users/${user.id}/role`, { role: 'admin' }, '/admin/users', 'Pia Prg is an admin.'],
      [`/admin/users/${user.id}/role`, { role: 'staff' }, '/admin/users', 'Pia Prg is staff.'],
      [`/admin/users/${user.id}/disabled`, { disabled: 'true' }, '/admin/users', 'Pia Prg is disabled and signed out.'],
      [`/admin/users/${user.id}/disabled`, { disabled: 'false' }, '/admin/users', 'Pia Prg is enabled.'],
      [`/admin/users/${user.id}/unlock`, {}, '/admin/users', 'Pia Prg can sign in again.'],
      ['/admin/security', { requireSecondFactor: 'false' }, '/admin/security', 'A second factor is now optional.'],
      [
        '/admin/email-changes/policy',
        { needsApproval: 'true' },
        '/admin/email-changes',
        'Email changes now need a second staff member’s approval.',
      ],
      [
        '/admin/email-changes/policy',
        { needsApproval: 'false' },
        '/admin/email-changes',
        'Email changes no longer need a second approval',
      ],
    ];
    for (const [path, body, location, message] of cases) {
      const res = await admin
        .post(path)
        .type('form')
        .send({ _csrf: admin.csrf, ...body });
      expect({ path, status: res.status, location: res.headers.location }).toEqual({ path, status: 303, location });
      const page = await admin.get(location).expect(200);
      expect({ path, shown: page.text.includes(message) }).toEqual({ path, shown: true });
      expect({ path, again: (await admin.get(location)).text.includes(message) }).toEqual({ path, again: false });
    }
  });

  it('changing one’s own password answers 303 to the password page with its message', async () => {
    const user = await createStaffUser(t, 'staff', 'Cara Change');
    const agent = await signIn(t, user.email, user.password);
    const newPassword = 'a different passphrase for cara';
    const res = await agent
      .post('/account/password')
      .type('form')
      .send({ _csrf: agent.csrf, currentPassword: STAFF_PASSWORD, newPassword, confirmPassword: newPassword });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/account/password');
    expect((await agent.get('/account/password').expect(200)).text).toContain('Your password has been changed.');
  });

  it('Disable asks first: the confirmation page changes nothing; enabling needs no confirmation', async () => {
    const user = await createStaffUser(t, 'staff', 'Dora Disable');
    const list = await admin.get('/admin/users').expect(200);
    expect(list.text).toContain(`href="/admin/users/${user.id}/disable"`);
    expect(list.text).not.toMatch(new RegExp(`action="/admin/users/${user.id}/disabled"[\\s\\S]{0,200}value="true"`));
    const confirm = await admin.get(`/admin/users/${user.id}/disable`).expect(200);
    expect(confirm.text).toContain('Disable Dora Disable?');
    expect(confirm.text).toMatch(/<form method="post" action="\/admin\/users\/\d+\/disabled"[\s\S]*name="disabled" value="true"/);
    const [row] = await t.dataSource.query('SELECT disabled FROM staff_users WHERE id = ?', [user.id]);
    expect(Number(row.disabled)).toBe(0);
  });

  it('the portal: "Forgot password" and choosing a password land on GET pages', async () => {
    const patient = request.agent(t.server);
    const page = await patient.get('/portal/forgot-password').expect(200);
    const res = await patient
      .post('/portal/forgot-password')
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), identifier: 'nobody.here' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/portal/forgot-password/sent');
    expect((await patient.get('/portal/forgot-password/sent').expect(200)).text).toContain('Check your email');
    // Opened without a fresh set-password, the landing page only points to sign-in.
    expect((await patient.get('/portal/account-ready').expect(200)).text).toContain('Patient Portal sign-in');
  });
});
