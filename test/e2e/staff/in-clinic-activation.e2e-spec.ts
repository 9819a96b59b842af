import request from 'supertest';
import { codeHashOf, normaliseTypedCode } from '../../../src/portal-access/activation-codes/activation-code';
import { CLINIC_CODE_TTL_MINUTES } from '../../../src/portal-access/activation-codes/activation-codes.service';
import { hashToken } from '../../../src/invitations/tokens';
import { portalStatus } from '../../../src/portal-access/portal-status';
import { csrfTokenOf } from '../../support/html';
import { createPortalPatient, portalAccountOf } from '../../support/portal-patients';
import { readQrFromDataUrl } from '../../support/qr';
import { addRepresentative } from '../../support/representatives';
import { signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

const BASE_URL = 'https://portal.clinic.test';
const PASSWORD = 'harbor lantern quietly orchard';
const BORN = '1968-03-30';

describe('a staff member activating a patient on their phone in the clinic', () => {
  let t: TestApp;
  let staff: Awaited<ReturnType<typeof signInAs>>;

  beforeAll(async () => {
    t = await startTestApp({ PUBLIC_BASE_URL: BASE_URL, CLINIC_NAME: 'Maple Street Clinic' });
    staff = await signInAs(t);
  });
  afterAll(async () => t.close());

  /** Ticks the photo-ID box, shows the code and reads it (and the QR's link) off the page. */
  async function showCode(patientId: number) {
    await staff
      .post(`/patients/${patientId}/portal/activation-code`)
      .type('form')
      .send({ _csrf: staff.csrf, photoIdChecked: 'yes' })
      .expect(303)
      .expect('Location', `/patients/${patientId}/portal/activation-code`);
    const page = await staff.get(`/patients/${patientId}/portal/activation-code`).expect(200);
    const code = /data-testid="activation-code">([A-Z0-9-]+)</.exec(page.text)![1];
    const qr = /<img src="(data:image\/png;base64,[^"]+)"/.exec(page.text)![1];
    const tokenId = Number(/activation-code\/(\d+)\/progress/.exec(page.text)![1]);
    return { code, link: readQrFromDataUrl(qr), tokenId, page: page.text };
  }

  /** The phone: types the code (or opens the link), answers the date of birth and sees the password form. */
  async function phoneReachesForm(code: string) {
    const phone = request.agent(t.server);
    const entry = await phone.get('/portal/activate').expect(200);
    expect(entry.text).toContain('Activation code');
    await phone
      .post('/portal/activate/code')
      .type('form')
      .send({ _csrf: csrfTokenOf(entry.text), code: ` ${code.toLowerCase().replace('-', ' ')} ` })
      .expect(303)
      .expect('Location', '/portal/activate');
    const step = await phone.get('/portal/activate').expect(200);
    expect(step.text).toContain('Confirm it is you');
    await phone
      .post('/portal/activate/identity')
      .type('form')
      .send({ _csrf: csrfTokenOf(step.text), dateOfBirth: BORN })
      .expect(303)
      .expect('Location', '/portal/activate');
    const form = await phone.get('/portal/activate').expect(200);
    return { phone, form: form.text };
  }

  const tokenRows = async (patientId: number) =>
    (await t.dataSource.query('SELECT * FROM portal_tokens WHERE patient_id = ? ORDER BY id', [patientId])) as Array<
      Record<string, unknown>
    >;
  const actions = async (patientId: number) =>
    (
      await t.dataSource.query(
        'SELECT action, outcome, actor_type, actor_id FROM audit_events WHERE patient_id = ? ORDER BY id',
        [patientId],
      )
    ).map((row: { action: string; outcome: string; actor_type: string; actor_id: number | null }) => ({
      ...row,
      actor_id: row.actor_id === null ? null : Number(row.actor_id),
    }));

  it('needs the photo-ID tick, changes nothing without it', async () => {
    const patient = await createPortalPatient(t, { email: null, dateOfBirth: BORN });
    const res = await staff.post(`/patients/${patient.id}/portal/activation-code`).type('form').send({ _csrf: staff.csrf });
    expect(res.status).toBe(400);
    expect(res.text).toContain('Tick that you checked the patient&#39;s photo ID.');
    expect(await tokenRows(patient.id)).toEqual([]);
  });

  it('shows a QR code and an 8-character code once, keeps only hashes, and audits who checked the ID', async () => {
    const patient = await createPortalPatient(t, { email: null, dateOfBirth: BORN });
    const { code, link, page } = await showCode(patient.id);
    expect(code).toMatch(/^[A-HJKMNP-Z2-9]{4}-[A-HJKMNP-Z2-9]{4}$/);
    expect(link).toMatch(new RegExp(`^${BASE_URL}/portal/activate/[A-Za-z0-9_-]{43}$`));
    expect(page).toContain('hx-headers=\'{"X-Background-Poll": "1"}\'');
    const [row] = await tokenRows(patient.id);
    expect(row.purpose).toBe('clinic');
    expect(row.code_hash).toBe(codeHashOf(normaliseTypedCode(code)!));
    expect(row.token_hash).toBe(hashToken(link.split('/').pop()!));
    expect(JSON.stringify(row)).not.toContain(code.replace('-', ''));
    expect(Number(row.created_by_staff_id)).toBe(staff.user.id);
    const lifetime = new Date(String(row.expires_at)).getTime() - new Date(String(row.created_at)).getTime();
    expect(Math.abs(lifetime - CLINIC_CODE_TTL_MINUTES * 60_000)).toBeLessThan(2000);
    // Shown once: a reload sends staff back to the tab.
    await staff
      .get(`/patients/${patient.id}/portal/activation-code`)
      .expect(303)
      .expect('Location', `/patients/${patient.id}?tab=portal`);
    expect(await actions(patient.id)).toContainEqual({
      action: 'portal.activation_code_shown',
      outcome: 'success',
      actor_type: 'staff',
      actor_id: staff.user.id,
    });
  });

  it('lets the patient type the code, confirm the birth date, choose a username and password and add an email confirmed by link', async () => {
    const patient = await createPortalPatient(t, { firstName: 'Octavia', email: null, dateOfBirth: BORN });
    const { code, tokenId } = await showCode(patient.id);
    const progress = () =>
      staff.get(`/patients/${patient.id}/portal/activation-code/${tokenId}/progress`).set('HX-Request', 'true');
    expect((await progress()).text).toContain('Waiting for the patient');

    const { phone, form } = await phoneReachesForm(code);
    expect(form).toContain('Hello Octavia');
    expect(form).toContain('name="username"');
    expect(form).toContain('name="email"');
    const submit = (email: string) =>
      phone
        .post('/portal/activate')
        .type('form')
        .send({
          _csrf: csrfTokenOf(form),
          username: `octavia${patient.id}`,
          password: PASSWORD,
          confirmPassword: PASSWORD,
          email,
        });
    const bad = await submit('not an address');
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('Enter a valid email address');
    expect((await portalAccountOf(t, patient.id)).username).toBeNull();

    const ready = await submit('octavia.phone@example.test').redirects(1).expect(200);
    expect(ready.text).toContain('Your account is ready');
    expect(ready.text).toContain('We sent a link to octavia.phone@example.test.');
    // Orange now, green at the first sign-in, as usual; the staff page sees it finished.
    expect(portalStatus(await portalAccountOf(t, patient.id))).toBe('orange');
    expect((await progress()).text).toContain('The patient has set up their account');
    // The address is not on file until its link is used.
    const [before] = await t.dataSource.query('SELECT email FROM patients WHERE id = ?', [patient.id]);
    expect(before.email).toBeNull();
    // The request's reason is a key, written out on the staff's tab (here in English).
    const [pending] = await t.dataSource.query('SELECT reason FROM email_change_requests WHERE patient_id = ?', [patient.id]);
    expect(pending.reason).toBe('staff:emailChanges.reasonPatient');
    expect((await staff.get(`/patients/${patient.id}?tab=portal`).expect(200)).text).toContain(
      '<td>Added by the patient when activating their account</td>',
    );
    const [verify] = await t.dataSource.query(
      "SELECT text_body FROM mail_outbox WHERE to_address = 'octavia.phone@example.test'",
    );
    const confirmPath = /\/portal\/email-change\/confirm\/[A-Za-z0-9_-]{43}/.exec(String(verify.text_body))![0];
    const mailbox = request.agent(t.server);
    const opened = await mailbox.get(confirmPath).expect(303);
    const confirmPage = await mailbox.get(opened.headers.location).expect(200);
    await mailbox
      .post(opened.headers.location)
      .type('form')
      .send({ _csrf: csrfTokenOf(confirmPage.text) })
      .expect(303);
    const [after] = await t.dataSource.query('SELECT email FROM patients WHERE id = ?', [patient.id]);
    expect(after.email).toBe('octavia.phone@example.test');

    const trail = (await actions(patient.id)).map((row: { action: string }) => row.action);
    expect(trail).toEqual(
      expect.arrayContaining([
        'portal.activation_code_shown',
        'portal.identity_checked',
        'portal.token_used',
        'patient.email_change_requested',
        'patient.email_changed',
      ]),
    );
    // Single use: the code and the link are dead now.
    const again = request.agent(t.server);
    const entry = await again.get('/portal/activate').expect(200);
    const reuse = await again
      .post('/portal/activate/code')
      .type('form')
      .send({ _csrf: csrfTokenOf(entry.text), code });
    expect(reuse.status).toBe(400);
    expect(reuse.text).toContain('That code does not work');
  });

  it('refuses an expired code, and a code replaced by a newer one; the newer one works', async () => {
    const patient = await createPortalPatient(t, { email: null, dateOfBirth: BORN });
    const first = await showCode(patient.id);
    const second = await showCode(patient.id);
    const [old] = await tokenRows(patient.id);
    expect(old.revoked_reason).toBe('superseded');
    await request(t.server).get(new URL(first.link).pathname).expect(410);
    const typed = async (code: string) => {
      const agent = request.agent(t.server);
      const entry = await agent.get('/portal/activate').expect(200);
      return agent
        .post('/portal/activate/code')
        .type('form')
        .send({ _csrf: csrfTokenOf(entry.text), code });
    };
    expect((await typed(first.code)).status).toBe(400);
    // The newer link opens (a GET consumes nothing) …
    await request(t.server).get(new URL(second.link).pathname).expect(303).expect('Location', '/portal/activate');
    // … until it expires.
    await t.dataSource.query("UPDATE portal_tokens SET expires_at = '2000-01-01 00:00:00' WHERE id = ?", [second.tokenId]);
    expect((await typed(second.code)).status).toBe(400);
    expect(
      (await staff.get(`/patients/${patient.id}/portal/activation-code/${second.tokenId}/progress`).expect(200)).text,
    ).toContain('This code has expired');
  });

  it('refuses a code for a patient whose access is not enabled', async () => {
    const patient = await createPortalPatient(t, { email: null, accessEnabled: false });
    const res = await staff
      .post(`/patients/${patient.id}/portal/activation-code`)
      .type('form')
      .send({ _csrf: staff.csrf, photoIdChecked: 'yes' });
    expect(res.status).toBe(409);
    expect(await tokenRows(patient.id)).toEqual([]);
  });

  it('refuses an added address someone else holds (another patient, another patient’s representative, staff) before anything is written, and audits it', async () => {
    const sibling = await createPortalPatient(t, { email: 'Family.Mailbox@example.test' });
    const other = await createPortalPatient(t, { email: null });
    const guardianAddress = `guardian${other.id}@example.test`;
    await addRepresentative(t, staff, other.id, { email: guardianAddress });
    for (const taken of [' family.mailbox@EXAMPLE.test ', guardianAddress.toUpperCase(), staff.user.email]) {
      const patient = await createPortalPatient(t, { email: null, dateOfBirth: BORN });
      const { code } = await showCode(patient.id);
      const { phone, form } = await phoneReachesForm(code);
      const fields = {
        _csrf: csrfTokenOf(form),
        username: `shared${patient.id}`,
        password: PASSWORD,
        confirmPassword: PASSWORD,
      };
      const refused = await phone
        .post('/portal/activate')
        .type('form')
        .send({ ...fields, email: taken });
      expect(refused.status).toBe(400);
      expect(refused.text).toContain('it is already on file at the clinic for someone else');
      // Nothing written: no username, the code still works, no change request, the audit says why.
      expect((await portalAccountOf(t, patient.id)).username).toBeNull();
      expect(await t.dataSource.query('SELECT id FROM email_change_requests WHERE patient_id = ?', [patient.id])).toEqual([]);
      expect(await actions(patient.id)).toContainEqual({
        action: 'patient.email_change_requested',
        outcome: 'denied',
        actor_type: 'patient',
        actor_id: patient.id,
      });
      // Left empty, the set-up goes through.
      const again = await phone.get('/portal/activate').expect(200);
      await phone
        .post('/portal/activate')
        .type('form')
        .send({ ...fields, _csrf: csrfTokenOf(again.text), email: '' })
        .expect(303);
      expect((await portalAccountOf(t, patient.id)).username).toBe(`shared${patient.id}`);
    }
    expect(sibling.email).toBe('Family.Mailbox@example.test');
  });

  it("shows a code for a representative at the desk (their photo ID checked): it sets up the representative's own account, not the patient's", async () => {
    const patient = await createPortalPatient(t, { firstName: 'Milo', email: null, dateOfBirth: BORN });
    const rep = await addRepresentative(t, staff, patient.id, { fullName: 'Greta Sandoval' });
    // The patient's own code stays valid: a representative's code supersedes only the representative's links.
    const own = await showCode(patient.id);
    const path = `/patients/${patient.id}/portal/activation-code/representatives/${rep.id}`;
    const unticked = await staff.post(path).type('form').send({ _csrf: staff.csrf });
    expect(unticked.status).toBe(400);
    expect(unticked.text).toContain('Tick that you checked the representative&#39;s photo ID.');
    await staff
      .post(path)
      .type('form')
      .send({ _csrf: staff.csrf, photoIdChecked: 'yes' })
      .expect(303)
      .expect('Location', `/patients/${patient.id}/portal/activation-code`);
    const page = await staff.get(`/patients/${patient.id}/portal/activation-code`).expect(200);
    expect(page.text).toContain("Activate on Greta Sandoval's phone");
    const code = /data-testid="activation-code">([A-Z0-9-]+)</.exec(page.text)![1];
    const tokenId = Number(/activation-code\/(\d+)\/progress/.exec(page.text)![1]);
    const [row] = await t.dataSource.query('SELECT purpose, representative_account_id FROM portal_tokens WHERE id = ?', [
      tokenId,
    ]);
    expect(row.purpose).toBe('clinic');
    expect(Number(row.representative_account_id)).toBe(rep.accountId);

    const phone = request.agent(t.server);
    const entry = await phone.get('/portal/activate').expect(200);
    await phone
      .post('/portal/activate/code')
      .type('form')
      .send({ _csrf: csrfTokenOf(entry.text), code })
      .expect(303);
    const step = await phone.get('/portal/activate').expect(200);
    // Two questions: the patient's birth date and the representative's own last name.
    expect(step.text).toContain('name="representativeLastName"');
    await phone
      .post('/portal/activate/identity')
      .type('form')
      .send({ _csrf: csrfTokenOf(step.text), dateOfBirth: BORN, representativeLastName: 'Sandoval' })
      .expect(303);
    const form = await phone.get('/portal/activate').expect(200);
    expect(form.text).toContain('Hello Greta');
    expect(form.text).toContain('name="username"');
    expect(form.text).not.toContain('name="email"');
    await phone
      .post('/portal/activate')
      .type('form')
      .send({ _csrf: csrfTokenOf(form.text), username: `greta${rep.id}`, password: PASSWORD, confirmPassword: PASSWORD })
      .expect(303);
    const progress = await staff
      .get(`/patients/${patient.id}/portal/activation-code/${tokenId}/progress`)
      .set('HX-Request', 'true')
      .expect(200);
    expect(progress.text).toContain('The representative has set up their account.');
    const [account] = await t.dataSource.query('SELECT username, invited_at FROM representative_accounts WHERE id = ?', [
      rep.accountId,
    ]);
    expect(account.username).toBe(`greta${rep.id}`);
    expect(account.invited_at).not.toBeNull();
    // The patient's account and own code are untouched.
    expect((await portalAccountOf(t, patient.id)).username).toBeNull();
    await request(t.server).get(new URL(own.link).pathname).expect(303).expect('Location', '/portal/activate');
    // The representative signs in to their own home and sees the patient.
    const login = await phone.get('/portal/login').expect(200);
    await phone
      .post('/portal/login')
      .type('form')
      .send({ _csrf: csrfTokenOf(login.text), username: `greta${rep.id}`, password: PASSWORD })
      .expect(303);
    expect((await phone.get('/portal').expect(200)).text).toContain('Milo');
    const [shown] = await t.dataSource.query(
      "SELECT actor_id, details FROM audit_events WHERE patient_id = ? AND action = 'portal.activation_code_shown' ORDER BY id DESC",
      [patient.id],
    );
    expect(Number(shown.actor_id)).toBe(staff.user.id);
    expect(JSON.parse(String(shown.details))).toMatchObject({
      representativeAccountId: rep.accountId,
      fullName: 'Greta Sandoval',
    });
    const tab = await staff.get(`/patients/${patient.id}?tab=portal`).expect(200);
    expect(tab.text).toContain('who checked the representative’s photo ID (for Greta Sandoval, their representative)');
  });

  it('refuses a code of their own for a patient under the self-access age, and the tab offers none', async () => {
    const child = await createPortalPatient(t, { email: null, dateOfBirth: `${new Date().getUTCFullYear() - 9}-02-01` });
    const res = await staff
      .post(`/patients/${child.id}/portal/activation-code`)
      .type('form')
      .send({ _csrf: staff.csrf, photoIdChecked: 'yes' });
    expect(res.status).toBe(409);
    expect(res.text).toContain('Under 13: no portal account of their own');
    expect(await tokenRows(child.id)).toEqual([]);
    const tab = await staff.get(`/patients/${child.id}?tab=portal`).expect(200);
    expect(tab.text).not.toContain(`/patients/${child.id}/portal/activation-code"`);
    expect(tab.text).not.toContain('Print activation letter (PDF)');
  });

  it("refuses a representative's code while the patient's access is off", async () => {
    const patient = await createPortalPatient(t, { email: null });
    const rep = await addRepresentative(t, staff, patient.id);
    await t.dataSource.query('UPDATE portal_accounts SET access_enabled = 0 WHERE patient_id = ?', [patient.id]);
    const res = await staff
      .post(`/patients/${patient.id}/portal/activation-code/representatives/${rep.id}`)
      .type('form')
      .send({ _csrf: staff.csrf, photoIdChecked: 'yes' });
    expect(res.status).toBe(409);
    expect(await tokenRows(patient.id)).toEqual([]);
  });
});
