import request from 'supertest';
import { csrfTokenOf } from '../../support/html';
import { createPortalPatient, portalAccountOf } from '../../support/portal-patients';
import { binaryBody, pdfPagesAsPng, readQrCodes } from '../../support/qr';
import { signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

const BASE_URL = 'https://portal.clinic.test';
const PASSWORD = 'copper meadow lantern ferry';
const BORN = '1959-10-05';

describe('a staff member printing activation letters', () => {
  let t: TestApp;
  let staff: Awaited<ReturnType<typeof signInAs>>;

  beforeAll(async () => {
    t = await startTestApp({ PUBLIC_BASE_URL: BASE_URL, CLINIC_NAME: 'Maple Street Clinic', LETTER_TTL_DAYS: '30' });
    staff = await signInAs(t);
  });
  afterAll(async () => t.close());

  async function withAddress(options: Parameters<typeof createPortalPatient>[1] = {}) {
    const patient = await createPortalPatient(t, { email: null, dateOfBirth: BORN, ...options });
    await t.dataSource.query(
      "UPDATE patients SET address_line1 = '12 Elm Street', address_city = 'Springfield', address_region = 'IL', address_postal_code = '62704' WHERE id = ?",
      [patient.id],
    );
    return patient;
  }
  const print = (ids: number[]) =>
    staff
      .post('/portal-onboarding/letters')
      .type('form')
      .send({ _csrf: staff.csrf, ids: ids.map(String) })
      .buffer(true)
      .parse(binaryBody);

  it('previews the counts with every skip reason, prints one page per letter with a readable QR code, and reports the batch', async () => {
    const mailable = [await withAddress(), await withAddress(), await withAddress()];
    const noAddress = await createPortalPatient(t, { email: null });
    const notEnabled = await withAddress({ accessEnabled: false });
    // Ten years old, with an address and access on: the minors rule keeps the letter from them too.
    const child = await withAddress({ dateOfBirth: `${new Date().getUTCFullYear() - 10}-01-15` });
    const ids = [...mailable.map((p) => p.id), noAddress.id, notEnabled.id, child.id];

    const preview = await staff
      .post('/portal-onboarding/letters/preview')
      .set('HX-Request', 'true')
      .type('form')
      .send({ _csrf: staff.csrf, ids: ids.map(String) })
      .expect(200);
    expect(preview.text).toContain(
      '3 letters; 1 skipped: no postal address; 1 skipped: portal access not enabled; 1 skipped: under the self-access age.',
    );
    expect(preview.text).toContain('Print 3 letters (PDF)');
    expect(Number((await t.dataSource.query('SELECT COUNT(*) AS n FROM portal_tokens'))[0].n)).toBe(0);

    const res = await print(ids).expect(200);
    expect(res.headers['content-type']).toBe('application/pdf');
    const pdf = res.body as Buffer;
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    const pages = pdfPagesAsPng(pdf);
    expect(pages).toHaveLength(3);
    const links = pages.map((page) => readQrCodes(page));
    for (const found of links)
      expect(found).toEqual([expect.stringMatching(new RegExp(`^${BASE_URL}/portal/activate/[A-Za-z0-9_-]{43}$`))]);
    expect(new Set(links.flat()).size).toBe(3);

    const rows = await t.dataSource.query(
      `SELECT patient_id, purpose, created_at, expires_at, code_hash FROM portal_tokens WHERE patient_id IN (${ids.join(', ')}) ORDER BY patient_id`,
    );
    expect(rows.map((row: { patient_id: number }) => Number(row.patient_id))).toEqual(mailable.map((p) => p.id));
    for (const row of rows) {
      expect(row.purpose).toBe('letter');
      expect(row.code_hash).toMatch(/^[0-9a-f]{64}$/);
      const days = (new Date(row.expires_at).getTime() - new Date(row.created_at).getTime()) / 86_400_000;
      expect(Math.round(days)).toBe(30);
    }

    const batch = String(res.headers['x-letter-batch']);
    const audit = await t.dataSource.query(
      "SELECT action, patient_id, actor_id FROM audit_events WHERE batch_id = ? AND action LIKE 'portal.letter_%' ORDER BY id",
      [batch],
    );
    expect(audit.filter((row: { action: string }) => row.action === 'portal.letter_printed')).toHaveLength(3);
    expect(audit.filter((row: { action: string }) => row.action === 'portal.letter_skipped')).toHaveLength(3);
    expect(
      audit.some(
        (row: { action: string; patient_id: number }) =>
          row.action === 'portal.letter_skipped' && Number(row.patient_id) === child.id,
      ),
    ).toBe(true);
    expect(audit.every((row: { actor_id: number }) => Number(row.actor_id) === staff.user.id)).toBe(true);
    const report = await staff.get(`/portal-onboarding/letters/batches/${batch}`).expect(200);
    expect(report.text).toContain('3 printed; 3 skipped.');
    expect(report.text).toContain('no postal address');
    expect(report.text).toContain('under the self-access age');
    expect(report.text).toContain('portal access not enabled');
  });

  it("a letter's link asks the date of birth, sets up the account once, and is revoked by a newer letter", async () => {
    const patient = await withAddress({ firstName: 'Perpetua' });
    const [first] = pdfPagesAsPng((await print([patient.id]).expect(200)).body as Buffer).map((page) => readQrCodes(page)[0]);
    const [second] = pdfPagesAsPng((await print([patient.id]).expect(200)).body as Buffer).map((page) => readQrCodes(page)[0]);
    // The newer letter revoked the first.
    await request(t.server).get(new URL(first).pathname).expect(410);

    const phone = request.agent(t.server);
    await phone.get(new URL(second).pathname).expect(303).expect('Location', '/portal/activate');
    const step = await phone.get('/portal/activate').expect(200);
    expect(step.text).toContain('Confirm it is you');
    await phone
      .post('/portal/activate/identity')
      .type('form')
      .send({ _csrf: csrfTokenOf(step.text), dateOfBirth: BORN })
      .expect(303);
    const form = await phone.get('/portal/activate').expect(200);
    expect(form.text).toContain('Hello Perpetua');
    await phone
      .post('/portal/activate')
      .redirects(1)
      .type('form')
      .send({ _csrf: csrfTokenOf(form.text), username: `perpetua${patient.id}`, password: PASSWORD, confirmPassword: PASSWORD })
      .expect(200);
    expect((await portalAccountOf(t, patient.id)).username).toBe(`perpetua${patient.id}`);
    // Single use.
    await request(t.server).get(new URL(second).pathname).expect(410);
  });

  it('prints a single letter from the Patient Portal tab, and refuses one for a patient without an address', async () => {
    const patient = await withAddress();
    const res = await staff
      .post(`/patients/${patient.id}/portal/letter`)
      .type('form')
      .send({ _csrf: staff.csrf })
      .buffer(true)
      .parse(binaryBody)
      .expect(200);
    expect(pdfPagesAsPng(res.body as Buffer)).toHaveLength(1);
    const none = await createPortalPatient(t, { email: null });
    const empty = await staff
      .post(`/patients/${none.id}/portal/letter`)
      .type('form')
      .send({ _csrf: staff.csrf })
      .buffer(true)
      .parse(binaryBody)
      .expect(200);
    const page = pdfPagesAsPng(empty.body as Buffer);
    expect(page).toHaveLength(1);
    expect(readQrCodes(page[0]).length).toBe(0);
    expect(await t.dataSource.query('SELECT id FROM portal_tokens WHERE patient_id = ?', [none.id])).toEqual([]);
  });

  it('is revoked by an invite email and by disabling access', async () => {
    const linkOf = async (patientId: number) =>
      new URL(readQrCodes(pdfPagesAsPng((await print([patientId]).expect(200)).body as Buffer)[0])[0]).pathname;
    const invited = await withAddress({ email: `letter.then.invite.${Date.now()}@example.test` });
    const invitedLink = await linkOf(invited.id);
    await request(t.server).get(invitedLink).expect(303);
    await staff.post(`/patients/${invited.id}/portal/invite`).type('form').send({ _csrf: staff.csrf }).expect(303);
    await request(t.server).get(invitedLink).expect(410);

    const disabled = await withAddress();
    const disabledLink = await linkOf(disabled.id);
    const [{ version }] = await t.dataSource.query('SELECT version FROM portal_accounts WHERE patient_id = ?', [disabled.id]);
    await staff
      .post(`/patients/${disabled.id}/portal/disable`)
      .type('form')
      .send({ _csrf: staff.csrf, reason: 'Patient asked', confirm: 'yes', version: String(version) })
      .expect(303);
    await request(t.server).get(disabledLink).expect(410);
    const reasons = await t.dataSource.query(
      `SELECT patient_id, revoked_reason FROM portal_tokens WHERE purpose = 'letter' AND patient_id IN (?, ?) ORDER BY patient_id`,
      [invited.id, disabled.id],
    );
    expect(reasons.map((row: { revoked_reason: string }) => row.revoked_reason)).toEqual(['superseded', 'access_disabled']);
  });
});
