import { parse } from 'csv-parse/sync';
import request from 'supertest';
import { MailSenderService } from '../../../src/invitations/mail/mail-sender.service';
import { createPortalPatient } from '../../support/portal-patients';
import { auditActions } from '../../support/sessions';
import { startSmtpServer, TestSmtpServer } from '../../support/smtp-server';
import { signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';
import { loadPatients, seedPatients } from './onboarding-fixtures';

/** supertest keeps a text/csv body as a string; parse it the way a spreadsheet would (BOM stripped). */
const rowsOf = (text: string): string[][] => parse(text, { bom: true });

describe('a staff member downloading CSV exports', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let staff: Awaited<ReturnType<typeof signInAs>>;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({ SMTP_URL: smtp.url });
    await seedPatients(t, 300);
    staff = await signInAs(t);
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  it('the onboarding page links "Download CSV" with the current filters', async () => {
    const page = await staff.get('/portal-onboarding?status=red&provider=2&sort=dob').expect(200);
    expect(page.text).toMatch(/href="\/portal-onboarding\/export\.csv\?provider=2&amp;status=red&amp;sort=dob"/);
  });

  it('exports every patient matching the filter and nothing else, the same count as the page', async () => {
    const res = await staff.get('/portal-onboarding/export.csv?status=red&provider=2').expect(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="portal-onboarding-\d{4}-\d{2}-\d{2}\.csv"$/);
    expect(res.headers['cache-control']).toBe('no-store');
    const [header, ...rows] = rowsOf(res.text);
    expect(header).toEqual([
      'Status',
      'Last name',
      'First name',
      'Date of birth',
      'Email',
      'Username',
      'Primary provider',
      'Next appointment',
      'Latest invite',
      'MRN',
    ]);
    const expected = (await loadPatients(t))
      .filter((p) => p.status === 'red' && p.providerId === 2)
      .sort((a, b) =>
        a.lastName < b.lastName
          ? -1
          : a.lastName > b.lastName
            ? 1
            : a.firstName < b.firstName
              ? -1
              : a.firstName > b.firstName
                ? 1
                : a.id - b.id,
      );
    expect(rows.length).toBe(expected.length);
    expect(rows.length).toBeGreaterThan(5);
    expect(new Set(rows.map((row) => `${row[1]}|${row[2]}|${row[3]}`))).toEqual(
      new Set(expected.map((p) => `${p.lastName}|${p.firstName}|${p.dateOfBirth}`)),
    );
    expect(rows.every((row) => row[0] === 'Access not enabled' || row[0].length > 0)).toBe(true);
    const page = await staff.get('/portal-onboarding?status=red&provider=2').expect(200);
    expect(page.text).toContain(`<strong>${expected.length}</strong>`);
  });

  it('exports all matching rows beyond one page, and the unfiltered list', async () => {
    const all = rowsOf((await staff.get('/portal-onboarding/export.csv').expect(200)).text);
    expect(all.length - 1).toBe(300);
    const byDob = rowsOf((await staff.get('/portal-onboarding/export.csv?sort=dob').expect(200)).text).slice(1);
    const dates = byDob.map((row) => row[3]);
    expect(dates).toEqual([...dates].sort());
  });

  it('escapes cells that a spreadsheet would run as formulas', async () => {
    const names = ['=HYPERLINK("http://evil.test","x")', '+SUM(A1)', '-2+3', '@cmd', '\tTabbed'];
    for (const [i, name] of names.entries()) await createPortalPatient(t, { firstName: name, lastName: `Formulaic${i}` });
    const rows = rowsOf((await staff.get('/portal-onboarding/export.csv?q=Formulaic').expect(200)).text).slice(1);
    expect(rows.map((row) => row[2])).toEqual(names.map((name) => `'${name}`));
    expect(rows.every((row) => row[1].startsWith('Formulaic'))).toBe(true);
  });

  it('audits each export with the filter and the number of rows', async () => {
    await staff.get('/portal-onboarding/export.csv?status=gray').expect(200);
    const events = await auditActions(t.dataSource, 'action = ?', ['patients.exported']);
    const last = events[events.length - 1];
    expect(last.actor_id).toBe(staff.user.id);
    expect(JSON.parse(last.details!)).toMatchObject({ filter: { status: 'gray' }, format: 'csv', rows: expect.any(Number) });
  });

  it('refuses bad filters and anonymous downloads', async () => {
    expect((await staff.get('/portal-onboarding/export.csv?status=purple')).status).toBe(400);
    expect((await staff.get('/portal-onboarding/export.csv?sort=name;DROP')).status).toBe(400);
    const anonymous = await request(t.server).get('/portal-onboarding/export.csv');
    expect([302, 303, 401]).toContain(anonymous.status);
    expect(anonymous.text).not.toContain('Date of birth');
  });

  it('reports every patient of a bulk invite batch: sent, skipped or failed, with the reason', async () => {
    const sent = await createPortalPatient(t, { firstName: 'Sent', lastName: 'Batchmember' });
    const failed = await createPortalPatient(t, { firstName: 'Failed', lastName: 'Batchmember' });
    const noEmail = await createPortalPatient(t, { firstName: 'Noemail', lastName: 'Batchmember', email: null });
    const disabled = await createPortalPatient(t, { firstName: 'Disabled', lastName: 'Batchmember', accessEnabled: false });
    const res = await staff
      .post('/portal-onboarding/bulk/invite')
      .set('HX-Request', 'true')
      .type('form')
      .send(`_csrf=${encodeURIComponent(staff.csrf)}&ids=${sent.id}&ids=${failed.id}&ids=${noEmail.id}&ids=${disabled.id}`)
      .expect(200);
    const batchId = /bulk\/batches\/([0-9a-f-]{36})/.exec(res.text)![1];
    expect(res.text).toContain(`/portal-onboarding/bulk/batches/${batchId}/report.csv`);

    await t.dataSource.query(
      "UPDATE mail_outbox SET status = 'failed', last_error = '550 Mailbox unavailable', text_body = NULL, html_body = NULL WHERE batch_id = ? AND patient_id = ?",
      [batchId, failed.id],
    );
    await t.app.get(MailSenderService).drainOnce();
    await smtp.waitFor(1);

    const report = await staff.get(`/portal-onboarding/bulk/batches/${batchId}/report.csv`).expect(200);
    const [header, ...rows] = rowsOf(report.text);
    expect(header).toEqual(['Patient id', 'Last name', 'First name', 'Email', 'Outcome', 'Reason', 'Sent at']);
    const byName = Object.fromEntries(rows.map((row) => [row[2], row]));
    expect(Object.keys(byName).sort()).toEqual(['Disabled', 'Failed', 'Noemail', 'Sent']);
    expect(byName.Sent.slice(3, 6)).toEqual([sent.email, 'sent', 'invite']);
    expect(byName.Sent[6]).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$/);
    expect(byName.Failed.slice(4, 6)).toEqual(['failed', '550 Mailbox unavailable']);
    expect(byName.Noemail.slice(4, 6)).toEqual(['skipped', 'no email on file']);
    expect(byName.Disabled.slice(4, 6)).toEqual(['skipped', 'access not enabled']);

    const [event] = await auditActions(t.dataSource, 'action = ? AND batch_id = ?', ['bulk_batch.report_exported', batchId]);
    expect(event.actor_id).toBe(staff.user.id);
    expect((await staff.get('/portal-onboarding/bulk/batches/00000000-0000-4000-8000-000000000000/report.csv')).status).toBe(404);
    expect((await staff.get('/portal-onboarding/bulk/batches/not-a-uuid/report.csv')).status).toBe(400);
  });
});
