import { AuditService } from '../../../src/audit/audit.service';
import { createPortalPatient } from '../../support/portal-patients';
import request from 'supertest';
import { csrfTokenOf } from '../../support/html';
import { signInAs, STAFF_PASSWORD } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

/** The activity list as a reader sees it: one line of text per item, newest first. */
const activityOf = (html: string) =>
  [
    ...(/<ol class="activity"[^>]*>([\s\S]*?)<\/ol>/.exec(html)?.[1] ?? '').matchAll(
      /<span class="activity-text[^"]*">([\s\S]*?)<\/span>/g,
    ),
  ].map((m) =>
    m[1]
      .replace(/&#39;/g, "'")
      .replace(/&quot;/g, '"')
      .replace(/&amp;/g, '&')
      .trim(),
  );

describe('the Patient Portal tab’s activity list', () => {
  let t: TestApp;
  let staff: Awaited<ReturnType<typeof signInAs>>;
  beforeAll(async () => {
    t = await startTestApp();
    staff = await signInAs(t);
    await t.dataSource.query("UPDATE staff_users SET name = 'Fran Frontdesk' WHERE id = ?", [staff.user.id]);
  });
  afterAll(async () => t.close());

  it('tells access changes, invites, sign-ins and email changes in words, and folds record views into one line', async () => {
    const patient = await createPortalPatient(t, { accessEnabled: false, email: 'old.address@example.test', username: null });
    const post = (path: string, body: Record<string, string> = {}) =>
      staff
        .post(`/patients/${patient.id}${path}`)
        .type('form')
        .send({ _csrf: staff.csrf, ...body })
        .expect(303);
    const version = async (table: 'patients' | 'portal_accounts') =>
      String(
        (
          await t.dataSource.query(`SELECT version FROM ${table} WHERE ${table === 'patients' ? 'id' : 'patient_id'} = ?`, [
            patient.id,
          ])
        )[0].version,
      );

    await post('/portal/enable');
    await post('/portal/invite');
    await post('/email', {
      email: 'new.address@example.test',
      verified: 'yes',
      reason: 'Patient phoned from the number on file',
      password: STAFF_PASSWORD,
      version: await version('patients'),
    });
    // The new address confirms the change (its link read from the outbox row, as the email would carry it).
    const [verify] = await t.dataSource.query("SELECT text_body FROM mail_outbox WHERE to_address = 'new.address@example.test'");
    const confirmPath = /\/portal\/email-change\/confirm\/[A-Za-z0-9_-]{43}/.exec(String(verify.text_body))![0];
    const browser = request.agent(t.server);
    const opened = await browser.get(confirmPath).expect(303);
    const confirmPage = await browser.get(opened.headers.location).expect(200);
    await browser
      .post(opened.headers.location)
      .type('form')
      .send({ _csrf: csrfTokenOf(confirmPage.text) })
      .expect(200);
    // The patient's own side, as the portal records it.
    const audit = t.app.get(AuditService);
    const asPatient = {
      actorType: 'patient' as const,
      actorId: patient.id,
      actorLabel: 'robin.q',
      ip: '203.0.113.9',
      userAgent: null,
    };
    await audit.record(asPatient, {
      action: 'patient.sign_in',
      outcome: 'failure',
      patientId: patient.id,
      details: { reason: 'wrong_password', failures: 1 },
    });
    await audit.record(asPatient, { action: 'patient.sign_in', patientId: patient.id });
    await post('/portal/disable', { reason: 'Patient moved away', confirm: 'yes', version: await version('portal_accounts') });
    for (let i = 0; i < 3; i++) await staff.get(`/patients/${patient.id}`).expect(200);

    const page = await staff.get(`/patients/${patient.id}?tab=portal`).expect(200);
    expect(activityOf(page.text)).toEqual([
      'Portal access disabled by Fran Frontdesk — reason: “Patient moved away”.',
      'Signed in to the portal.',
      'Failed portal sign-in (wrong password).',
      'The new email address confirmed the change.',
      'Email changed from old.address@example.test to new.address@example.test by the patient — reason: “Patient phoned from the number on file”; 1 open link revoked; the old address was told.',
      'Email change to new.address@example.test requested by Fran Frontdesk — reason: “Patient phoned from the number on file”; the new address must confirm it; the old address was told.',
      'Invite sent to the email on file by Fran Frontdesk.',
      'Portal access enabled by Fran Frontdesk.',
    ]);
    // Views are not listed one by one: 3 on the Details tab, 1 for this page.
    expect(page.text).toMatch(/Record viewed 4 times by staff, last by Fran Frontdesk \(\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\)/);
    expect(page.text).not.toContain('patient.viewed');
    // A failure reads as one, in words and in its style.
    expect(page.text).toContain('<span class="activity-text outcome-failure">Failed portal sign-in (wrong password).</span>');
  });

  it('says so when there is no activity yet, and shows patient-supplied text escaped', async () => {
    const patient = await createPortalPatient(t, { accessEnabled: false });
    const audit = t.app.get(AuditService);
    await audit.record(
      { actorType: 'staff', actorId: staff.user.id, actorLabel: staff.user.email, ip: null, userAgent: null },
      { action: 'portal.access_disabled', patientId: patient.id, details: { reason: '<img src=x onerror=alert(1)>' } },
    );
    const page = await staff.get(`/patients/${patient.id}?tab=portal`).expect(200);
    expect(page.text).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(page.text).not.toContain('<img src=x');
    const fresh = await createPortalPatient(t, { accessEnabled: false });
    const none = await staff.get(`/patients/${fresh.id}?tab=portal`).expect(200);
    expect(none.text).toContain('No portal activity yet.');
  });
});
