import request from 'supertest';
import { MailSenderService } from '../../../src/invitations/mail/mail-sender.service';
import { portalStatus } from '../../../src/portal-access/portal-status';
import { csrfTokenOf } from '../../support/html';
import { openPasswordForm } from '../../support/identity-check';
import { createPortalPatient, portalAccountOf } from '../../support/portal-patients';
import { auditActions } from '../../support/sessions';
import { linkFrom, startSmtpServer, TestSmtpServer } from '../../support/smtp-server';
import { signInAs, STAFF_PASSWORD } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

const BASE_URL = 'https://portal.clinic.test';
const PASSWORD = 'copper kettle morning walk';

describe('a staff member on the Patient Portal tab', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let staff: Awaited<ReturnType<typeof signInAs>>;
  let sender: MailSenderService;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({ SMTP_URL: smtp.url, PUBLIC_BASE_URL: BASE_URL });
    sender = t.app.get(MailSenderService);
    staff = await signInAs(t);
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  const versions = async (id: number) => {
    const [row] = await t.dataSource.query(
      'SELECT p.version AS patient, pa.version AS account FROM patients p JOIN portal_accounts pa ON pa.patient_id = p.id WHERE p.id = ?',
      [id],
    );
    return { patient: String(row.patient), account: String(row.account) };
  };
  const post = (path: string, form: Record<string, string> = {}) =>
    staff
      .post(path)
      .type('form')
      .send({ _csrf: staff.csrf, ...form });
  const openLinks = async (id: number) =>
    (
      await t.dataSource.query('SELECT id FROM portal_tokens WHERE patient_id = ? AND used_at IS NULL AND revoked_at IS NULL', [
        id,
      ])
    ).length;

  /** Invites the patient through the tab, delivers the email and lets the patient set a password and sign in. */
  async function activate(id: number, username: string): Promise<request.Agent> {
    const before = smtp.received.length;
    await post(`/patients/${id}/portal/invite`).expect(303);
    await sender.drainOnce();
    await smtp.waitFor(before + 1);
    const link = await linkFrom(smtp, smtp.received[smtp.received.length - 1], BASE_URL);
    const patient = request.agent(t.server);
    const form = await openPasswordForm(patient, link.path);
    await patient
      .post(form.location)
      .type('form')
      .send({ _csrf: form.csrf, username, password: PASSWORD, confirmPassword: PASSWORD })
      .expect((res) => expect(res.status).toBeLessThan(400));
    const login = await patient.get('/portal/login').expect(200);
    await patient
      .post('/portal/login')
      .type('form')
      .send({ _csrf: csrfTokenOf(login.text), username, password: PASSWORD })
      .expect(303);
    await patient.get('/portal').expect(200);
    return patient;
  }

  it('enables access and sends the invite from the tab, then shows the link with its delivery state', async () => {
    const { id, email } = await createPortalPatient(t, { accessEnabled: false });
    const enabled = await post(`/patients/${id}/portal/enable`).expect(303);
    expect(enabled.headers.location).toBe(`/patients/${id}?tab=portal&saved=enabled`);
    expect(portalStatus(await portalAccountOf(t, id))).toBe('gray');
    await post(`/patients/${id}/portal/invite`).expect(303);
    expect(portalStatus(await portalAccountOf(t, id))).toBe('orange');
    const tab = await staff.get(`/patients/${id}?tab=portal&saved=invite`).expect(200);
    expect(tab.text).toContain('An invite email is on its way');
    expect(tab.text).toContain(email!);
    expect(tab.text).toMatch(/<td>Invite<\/td>[\s\S]*?queued[\s\S]*?active/);
  });

  it('refuses to send an invite to a patient without email or without access, sending nothing', async () => {
    const noEmail = await createPortalPatient(t, { email: null });
    const res = await post(`/patients/${noEmail.id}/portal/invite`);
    expect(res.status).toBe(409);
    expect(res.text).toContain('No email was sent: no email on file.');
    const disabled = await createPortalPatient(t, { accessEnabled: false });
    expect((await post(`/patients/${disabled.id}/portal/invite`)).text).toContain('access not enabled');
    const [{ n }] = await t.dataSource.query('SELECT COUNT(*) AS n FROM mail_outbox WHERE patient_id IN (?, ?)', [
      noEmail.id,
      disabled.id,
    ]);
    expect(Number(n)).toBe(0);
  });

  it('disables access only with a confirmation and a reason: links revoked, the open portal session ends, sign-in refused', async () => {
    const { id } = await createPortalPatient(t);
    const patient = await activate(id, `disable${id}`);
    await post(`/patients/${id}/portal/invite`).expect(303); // an outstanding reset link
    expect(await openLinks(id)).toBe(1);

    const unconfirmed = await post(`/patients/${id}/portal/disable`, {
      reason: 'Patient asked',
      version: (await versions(id)).account,
    });
    expect(unconfirmed.status).toBe(400);
    expect(unconfirmed.text).toContain('Tick the box to confirm');
    const noReason = await post(`/patients/${id}/portal/disable`, {
      confirm: 'yes',
      reason: '',
      version: (await versions(id)).account,
    });
    expect(noReason.status).toBe(400);
    expect((await portalAccountOf(t, id)).accessEnabled).toBe(true);

    await post(`/patients/${id}/portal/disable`, {
      confirm: 'yes',
      reason: 'Patient moved away',
      version: (await versions(id)).account,
    }).expect(303);
    expect(portalStatus(await portalAccountOf(t, id))).toBe('red');
    expect(await openLinks(id)).toBe(0);
    expect((await patient.get('/portal')).status).toBe(303);
    const login = await request.agent(t.server).get('/portal/login');
    const retry = await request.agent(t.server);
    const page = await retry.get('/portal/login');
    const res = await retry
      .post('/portal/login')
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text), username: `disable${id}`, password: PASSWORD });
    expect(res.status).not.toBe(303);
    expect(login.status).toBe(200);
    const [event] = await auditActions(t.dataSource, 'action = ? AND patient_id = ?', ['portal.access_disabled', id]);
    expect(JSON.parse(event.details!)).toMatchObject({ reason: 'Patient moved away', revokedLinks: 1 });
  });

  it('tells the second of two staff editing the same patient that it changed, and keeps the first request', async () => {
    const { id, email: onFile } = await createPortalPatient(t);
    const stale = (await versions(id)).patient;
    await post(`/patients/${id}/email`, {
      email: 'first.edit@example.test',
      verified: 'yes',
      reason: 'Verified by phone',
      password: STAFF_PASSWORD,
      version: stale,
    }).expect(303);
    const second = await post(`/patients/${id}/email`, {
      email: 'second.edit@example.test',
      verified: 'yes',
      reason: 'Verified in person',
      password: STAFF_PASSWORD,
      version: stale,
    });
    expect(second.status).toBe(409);
    expect(second.text).toContain('changed by someone else');
    const [{ email }] = await t.dataSource.query('SELECT email FROM patients WHERE id = ?', [id]);
    expect(email).toBe(onFile);
    const requests = await t.dataSource.query('SELECT new_email FROM email_change_requests WHERE patient_id = ?', [id]);
    expect(requests).toEqual([{ new_email: 'first.edit@example.test' }]);
  });

  it('changes a username (unique ignoring case and width) and tells the patient; unlocks a locked account', async () => {
    const { id, email } = await createPortalPatient(t, { username: `kit${Date.now()}` });
    await createPortalPatient(t, { username: 'takenname' });
    const taken = await post(`/patients/${id}/portal/username`, {
      username: 'ＴakenName',
      version: (await versions(id)).account,
    });
    expect(taken.status).toBe(400);
    expect(taken.text).toContain('That username is not available.');
    const bad = await post(`/patients/${id}/portal/username`, { username: 'has space', version: (await versions(id)).account });
    expect(bad.status).toBe(400);

    const before = smtp.received.length;
    await post(`/patients/${id}/portal/username`, { username: 'kit.new', version: (await versions(id)).account }).expect(303);
    expect((await portalAccountOf(t, id)).username).toBe('kit.new');
    await sender.drainOnce();
    await smtp.waitFor(before + 1);
    const mail = smtp.received[smtp.received.length - 1];
    expect(mail.to).toEqual([email]);
    expect((await smtp.parse(mail)).text).toContain('kit.new');

    await t.dataSource.query(
      "UPDATE portal_accounts SET locked_until = '2999-01-01 00:00:00', failed_login_count = 5 WHERE patient_id = ?",
      [id],
    );
    const tab = await staff.get(`/patients/${id}?tab=portal`).expect(200);
    expect(tab.text).toContain('locked until');
    await post(`/patients/${id}/portal/unlock`, { version: (await versions(id)).account }).expect(303);
    const [row] = await t.dataSource.query('SELECT locked_until, failed_login_count FROM portal_accounts WHERE patient_id = ?', [
      id,
    ]);
    expect(row.locked_until).toBeNull();
    expect(Number(row.failed_login_count)).toBe(0);
    expect((await auditActions(t.dataSource, 'patient_id = ?', [id])).map((e) => e.action)).toEqual(
      expect.arrayContaining(['portal.username_changed', 'portal.account_unlocked']),
    );
  });

  it('refuses portal-tab actions without a CSRF token or a staff session', async () => {
    const { id } = await createPortalPatient(t);
    expect(
      (await staff.post(`/patients/${id}/portal/disable`).type('form').send({ confirm: 'yes', reason: 'x y z', version: '1' }))
        .status,
    ).toBe(403);
    const anonymous = await request(t.server).post(`/patients/${id}/portal/enable`);
    expect([401, 403, 303]).toContain(anonymous.status);
    expect((await portalAccountOf(t, id)).accessEnabled).toBe(true);
  });
});
