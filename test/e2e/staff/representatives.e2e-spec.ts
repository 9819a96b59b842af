import { answerIdentityCheck } from '../../support/identity-check';
import request from 'supertest';
import { MailSenderService } from '../../../src/invitations/mail/mail-sender.service';
import { csrfTokenOf } from '../../support/html';
import { createPortalPatient, DEFAULT_BIRTH_DATE } from '../../support/portal-patients';
import { addRepresentative, representativeForm } from '../../support/representatives';
import { auditActions } from '../../support/sessions';
import { linkFrom, startSmtpServer, TestSmtpServer } from '../../support/smtp-server';
import { signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

const BASE_URL = 'https://portal.clinic.test';
const PASSWORD = 'walnut harbour lantern season';

describe('authorised representatives, recorded by staff on the Patient Portal tab', () => {
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

  const post = (path: string, form: Record<string, string> = {}) =>
    staff
      .post(path)
      .type('form')
      .send({ _csrf: staff.csrf, ...form });
  const count = async (sql: string, params: unknown[]) => Number((await t.dataSource.query(sql, params))[0].n);

  /** Sends the representative's invite from the tab and returns the link from the email the SMTP server got. */
  async function inviteAndReceive(patientId: number, repId: number) {
    const before = smtp.received.length;
    await post(`/patients/${patientId}/representatives/${repId}/invite`).expect(303);
    await sender.drainOnce();
    await smtp.waitFor(before + 1);
    const mail = smtp.received[smtp.received.length - 1];
    return { mail, link: await linkFrom(smtp, mail, BASE_URL) };
  }

  /** The invite link pages, as the representative meets them: choose a username and password, then sign in. */
  async function setUpAndSignIn(linkPath: string, username: string, lastName: string): Promise<request.Agent> {
    const agent = request.agent(t.server);
    const opened = await agent.get(linkPath).expect(303);
    expect(opened.headers.location).toBe('/portal/invite');
    // The identity check: the patient's date of birth and the representative's own last name.
    const step = await agent.get('/portal/invite').expect(200);
    expect(step.text).toContain('name="representativeLastName"');
    await agent
      .post('/portal/invite/identity')
      .type('form')
      .send({ _csrf: csrfTokenOf(step.text), dateOfBirth: DEFAULT_BIRTH_DATE, representativeLastName: lastName })
      .expect(303);
    const form = await agent.get('/portal/invite').expect(200);
    await agent
      .post('/portal/invite')
      .type('form')
      .send({ _csrf: csrfTokenOf(form.text), username, password: PASSWORD, confirmPassword: PASSWORD })
      .expect(303);
    await signInPortal(agent, username);
    return agent;
  }

  async function signInPortal(agent: request.Agent, username: string) {
    const login = await agent.get('/portal/login').expect(200);
    await agent
      .post('/portal/login')
      .type('form')
      .send({ _csrf: csrfTokenOf(login.text), username, password: PASSWORD })
      .expect(303);
  }

  it('adds a representative only with every required field, a ticked confirmation and a reason; audited', async () => {
    const { id } = await createPortalPatient(t);
    const unconfirmed = await post(`/patients/${id}/representatives`, { ...representativeForm(), confirm: '' });
    expect(unconfirmed.status).toBe(400);
    expect(unconfirmed.text).toContain('Tick the box to confirm that you checked the authorisation.');
    const noEmail = await post(`/patients/${id}/representatives`, representativeForm({ email: '' }));
    expect(noEmail.status).toBe(400);
    expect(noEmail.text).toContain('Enter the representative’s own email address.');
    const badRelation = await post(`/patients/${id}/representatives`, representativeForm({ relationship: 'neighbour' }));
    expect(badRelation.status).toBe(400);
    const backwards = await post(
      `/patients/${id}/representatives`,
      representativeForm({ startsOn: '2026-05-01', endsOn: '2026-04-01' }),
    );
    expect(backwards.status).toBe(400);
    expect(backwards.text).toContain('The end date is before the start date.');
    expect(await count('SELECT COUNT(*) AS n FROM patient_representatives WHERE patient_id = ?', [id])).toBe(0);

    const rep = await addRepresentative(t, staff, id, { fullName: 'Morgan Avery', relationship: 'healthcare_poa' });
    const tab = await staff.get(`/patients/${id}?tab=portal&saved=representative_added`).expect(200);
    expect(tab.text).toContain('Morgan Avery');
    expect(tab.text).toContain('Healthcare power of attorney');
    expect(tab.text).toContain(`Send Invite to ${rep.email}`);
    const [event] = await auditActions(t.dataSource, "action = 'representative.added' AND patient_id = ?", [id]);
    expect(event).toMatchObject({ outcome: 'success', actor_id: staff.user.id, ip: expect.any(String) });
    expect(JSON.parse(event.details!)).toMatchObject({ representativeId: rep.id, fullName: 'Morgan Avery', email: rep.email });
  });

  it("refuses the patient's own address (however it is typed) and says why", async () => {
    const { id, email } = await createPortalPatient(t);
    const res = await post(`/patients/${id}/representatives`, representativeForm({ email: `  ${email!.toUpperCase()} ` }));
    expect(res.status).toBe(400);
    expect(res.text).toContain('This is the patient’s own email address.');
    expect(await count('SELECT COUNT(*) AS n FROM patient_representatives WHERE patient_id = ?', [id])).toBe(0);
  });

  it('invites the representative at their own address; they choose their own username and password and see the patient', async () => {
    const child = await createPortalPatient(t, { firstName: 'Ada', lastName: 'Lindqvist' });
    const rep = await addRepresentative(t, staff, child.id, { fullName: 'Kari Lindqvist', endsOn: '2099-06-30' });
    const { mail, link } = await inviteAndReceive(child.id, rep.id);
    expect(mail.to).toEqual([rep.email]);
    expect((await smtp.parse(mail)).text).toContain('Hello Kari,');
    // The patient's own account is untouched: no username, still gray (never invited).
    const [account] = await t.dataSource.query('SELECT username, invited_at FROM portal_accounts WHERE patient_id = ?', [
      child.id,
    ]);
    expect(account).toMatchObject({ username: null, invited_at: null });

    const agent = await setUpAndSignIn(link.path, `kari${rep.id}`, 'Lindqvist');
    const home = await agent.get('/portal').expect(200);
    expect(home.text).toContain('Welcome, Kari Lindqvist');
    expect(home.text).toContain('Ada Lindqvist');
    expect(home.text).toContain('until 2099-06-30');
    const [owner] = await t.dataSource.query('SELECT username, first_login_at FROM representative_accounts WHERE id = ?', [
      rep.accountId,
    ]);
    expect(owner.username).toBe(`kari${rep.id}`);
    expect(owner.first_login_at).not.toBeNull();
    const tab = await staff.get(`/patients/${child.id}?tab=portal`).expect(200);
    expect(tab.text).toContain('Representative status: Active');
    expect(tab.text).toContain(`Send password reset to ${rep.email}`);
  });

  it('refuses to invite a representative while the patient’s access is off, sending nothing', async () => {
    const { id } = await createPortalPatient(t, { accessEnabled: false });
    const rep = await addRepresentative(t, staff, id);
    const res = await post(`/patients/${id}/representatives/${rep.id}/invite`);
    expect(res.status).toBe(409);
    expect(res.text).toContain('enable the patient’s portal access first');
    expect(await count('SELECT COUNT(*) AS n FROM mail_outbox WHERE patient_id = ?', [id])).toBe(0);
  });

  it('revoking ends access to that patient at once (links, unsent email, sessions) and keeps the other patients', async () => {
    const first = await createPortalPatient(t, { firstName: 'Noor', lastName: 'Haddad' });
    const second = await createPortalPatient(t, { firstName: 'Sami', lastName: 'Haddad' });
    const email = `layla.${Date.now()}@family.test`;
    const repOfFirst = await addRepresentative(t, staff, first.id, { fullName: 'Layla Haddad', email });
    const repOfSecond = await addRepresentative(t, staff, second.id, { fullName: 'Layla Haddad', email: email.toUpperCase() });
    expect(repOfSecond.accountId).toBe(repOfFirst.accountId); // one person, one account
    const { link } = await inviteAndReceive(first.id, repOfFirst.id);
    const agent = await setUpAndSignIn(link.path, `layla${repOfFirst.id}`, 'Haddad');
    const home = await agent.get('/portal').expect(200);
    expect(home.text).toContain('Noor Haddad');
    expect(home.text).toContain('Sami Haddad');
    // A reset queued (not yet sent) for the first patient: revoking must cancel it.
    await post(`/patients/${first.id}/representatives/${repOfFirst.id}/invite`).expect(303);

    const unconfirmed = await post(`/patients/${first.id}/representatives/${repOfFirst.id}/revoke`, {
      version: String(repOfFirst.version),
      reason: 'Authorisation withdrawn by the patient',
    });
    expect(unconfirmed.status).toBe(400);
    expect(unconfirmed.text).toContain('Tick the box to confirm');
    await post(`/patients/${first.id}/representatives/${repOfFirst.id}/revoke`, {
      version: String(repOfFirst.version),
      confirm: 'yes',
      reason: 'Authorisation withdrawn by the patient',
    }).expect(303);

    expect(
      await count(
        'SELECT COUNT(*) AS n FROM portal_tokens WHERE representative_account_id = ? AND used_at IS NULL AND revoked_at IS NULL',
        [repOfFirst.accountId],
      ),
    ).toBe(0);
    const [queued] = await t.dataSource.query(
      "SELECT status, text_body FROM mail_outbox WHERE patient_id = ? AND kind = 'representative_reset' ORDER BY id DESC LIMIT 1",
      [first.id],
    );
    expect(queued).toMatchObject({ status: 'cancelled', text_body: null });
    // The open session could reach the first patient: it ended.
    const after = await agent.get('/portal');
    expect(after.status).toBe(303);
    expect(after.headers.location).toContain('/portal/login');
    await signInPortal(agent, `layla${repOfFirst.id}`);
    const again = await agent.get('/portal').expect(200);
    expect(again.text).not.toContain('Noor Haddad');
    expect(again.text).toContain('Sami Haddad');
    const [event] = await auditActions(t.dataSource, "action = 'representative.revoked' AND patient_id = ?", [first.id]);
    expect(JSON.parse(event.details!)).toMatchObject({
      reason: 'revoked',
      staffReason: 'Authorisation withdrawn by the patient',
    });
    const tab = await staff.get(`/patients/${first.id}?tab=portal`).expect(200);
    expect(tab.text).toContain('revoked by staff');
  });

  it('an end date that passed ends access without any write, and an edit into the past ends it with an audit row', async () => {
    const patient = await createPortalPatient(t, { firstName: 'Iris', lastName: 'Okafor' });
    const rep = await addRepresentative(t, staff, patient.id, { fullName: 'Ben Okafor', relationship: 'adult_caregiver' });
    const { link } = await inviteAndReceive(patient.id, rep.id);
    // The end day moves to yesterday behind the app's back (as time passing would).
    await t.dataSource.query("UPDATE patient_representatives SET ends_on = '2021-01-01' WHERE id = ?", [rep.id]);
    const dead = await request.agent(t.server).get(link.path);
    expect(dead.status).toBe(410);
    const tab = await staff.get(`/patients/${patient.id}?tab=portal`).expect(200);
    expect(tab.text).toContain('end date reached');
    expect(tab.text).toContain('Representative status: Not enabled');

    const other = await addRepresentative(t, staff, patient.id, { fullName: 'Cleo Okafor', relationship: 'other' });
    await post(`/patients/${patient.id}/representatives/${other.id}/edit`, {
      ...representativeForm({ fullName: 'Cleo Okafor', relationship: 'other', email: other.email, endsOn: '2020-06-30' }),
      version: String(other.version),
    }).expect(303);
    const [row] = await t.dataSource.query('SELECT ended_reason FROM patient_representatives WHERE id = ?', [other.id]);
    expect(row.ended_reason).toBe('end_date');
    expect((await auditActions(t.dataSource, "action = 'representative.ended' AND patient_id = ?", [patient.id])).length).toBe(1);
  });

  it('an edit with a stale version is refused and changes nothing', async () => {
    const patient = await createPortalPatient(t);
    const rep = await addRepresentative(t, staff, patient.id);
    const res = await post(`/patients/${patient.id}/representatives/${rep.id}/edit`, {
      ...representativeForm({ email: rep.email, fullName: 'Someone Else' }),
      version: String(rep.version + 5),
    });
    expect(res.status).toBe(409);
    const [row] = await t.dataSource.query('SELECT full_name FROM patient_representatives WHERE id = ?', [rep.id]);
    expect(row.full_name).toBe('Dana Whitfield');
  });

  it("disabling the patient's access ends their representatives' access and sessions", async () => {
    const patient = await createPortalPatient(t, { firstName: 'Theo', lastName: 'Brandt' });
    const rep = await addRepresentative(t, staff, patient.id, { fullName: 'Greta Brandt' });
    const { link } = await inviteAndReceive(patient.id, rep.id);
    const agent = await setUpAndSignIn(link.path, `greta${rep.id}`, 'Brandt');
    expect((await agent.get('/portal').expect(200)).text).toContain('Theo Brandt');
    const [{ version }] = await t.dataSource.query('SELECT version FROM portal_accounts WHERE patient_id = ?', [patient.id]);
    await post(`/patients/${patient.id}/portal/disable`, {
      confirm: 'yes',
      reason: 'Patient request',
      version: String(version),
    }).expect(303);
    const [row] = await t.dataSource.query('SELECT ended_reason FROM patient_representatives WHERE id = ?', [rep.id]);
    expect(row.ended_reason).toBe('access_disabled');
    expect((await agent.get('/portal')).status).toBe(303);
    await signInPortal(agent, `greta${rep.id}`);
    expect((await agent.get('/portal').expect(200)).text).toContain('You may not act for any patient at the moment.');
  });

  it("shares one username space with patients: a patient cannot choose a representative's username", async () => {
    const patient = await createPortalPatient(t);
    const rep = await addRepresentative(t, staff, patient.id, { fullName: 'Pat Quinn' });
    const { link } = await inviteAndReceive(patient.id, rep.id);
    await setUpAndSignIn(link.path, `quinn${rep.id}`, 'Quinn');
    const before = smtp.received.length;
    await post(`/patients/${patient.id}/portal/invite`).expect(303);
    await sender.drainOnce();
    await smtp.waitFor(before + 1);
    const own = await linkFrom(smtp, smtp.received[smtp.received.length - 1], BASE_URL);
    const agent = request.agent(t.server);
    await agent.get(own.path).expect(303);
    await answerIdentityCheck(agent, 'invite');
    const form = await agent.get('/portal/invite').expect(200);
    const taken = await agent
      .post('/portal/invite')
      .type('form')
      .send({ _csrf: csrfTokenOf(form.text), username: `QUINN${rep.id}`, password: PASSWORD, confirmPassword: PASSWORD });
    expect(taken.status).toBe(400);
    expect(taken.text).toContain('That username is not available.');
  });
});
