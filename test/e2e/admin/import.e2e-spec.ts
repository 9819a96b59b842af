import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { MailSenderService } from '../../../src/invitations/mail/mail-sender.service';
import { createPortalPatient } from '../../support/portal-patients';
import { auditActions } from '../../support/sessions';
import { startSmtpServer, TestSmtpServer } from '../../support/smtp-server';
import { uploadImport } from '../../support/imports';
import { signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

// Each import boots a worker thread (the app compiled anew): on a loaded 2-core machine one test's imports take minutes.
jest.setTimeout(600_000);

const FIXTURES = join(__dirname, '../../fixtures/import');
const fixture = (name: string) => join(FIXTURES, name);

describe('an admin importing patients', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof signInAs>>;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({ SMTP_URL: smtp.url, IMPORT_MAX_BYTES: '20000' });
    await t.dataSource.query(
      "INSERT INTO providers (name, active, created_at) VALUES ('Dr. Alice Morgan', 1, '2026-01-01 00:00:00'), ('Dr. Benjamin Ortiz', 1, '2026-01-01 00:00:00')",
    );
    admin = await signInAs(t, 'admin');
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  const upload = (file: string, fields: Record<string, string> = {}, name?: string) => uploadImport(t, admin, file, fields, name);
  const snapshot = async () => {
    const counts: Record<string, number> = {};
    for (const table of [
      'patients',
      'portal_accounts',
      'appointments',
      'providers',
      'tags',
      'patient_tags',
      'mail_outbox',
      'portal_tokens',
    ]) {
      const [{ n }] = await t.dataSource.query(`SELECT COUNT(*) AS n FROM ${table}`);
      counts[table] = Number(n);
    }
    const [{ v }] = await t.dataSource.query('SELECT COALESCE(SUM(version), 0) AS v FROM patients');
    counts.versions = Number(v);
    return counts;
  };

  it('imports the CSV with awkward names and missing emails; each new patient gets a red portal account', async () => {
    const { run, page } = await upload(fixture('patients.csv'));
    expect(run!.status).toBe('applied');
    expect(run!.counts.patients).toEqual({ new: 6, changed: 0, unchanged: 0 });
    expect(run!.counts.appointments).toEqual({ new: 3, changed: 0, unchanged: 0 });
    expect(page!.text).toContain('Imported');
    const rows = await t.dataSource.query(
      "SELECT p.first_name, p.last_name, p.email, pa.access_enabled, pa.username FROM patients p JOIN portal_accounts pa ON pa.patient_id = p.id WHERE p.external_id LIKE 'MRN-10%' ORDER BY p.external_id",
    );
    expect(rows.map((r: { first_name: string; last_name: string }) => `${r.first_name} ${r.last_name}`)).toEqual([
      "José O'Brien",
      'Zoë Smith-Jones',
      'Mary "Molly" van der Berg, Jr.',
      'Siobhán Ní Bhriain',
      'François Lefèvre-Dubois',
      "D'Arcy Nguyễn",
    ]);
    expect(rows[1].email).toBeNull();
    expect(
      rows.every(
        (r: { access_enabled: number; username: string | null }) => Number(r.access_enabled) === 0 && r.username === null,
      ),
    ).toBe(true);
    const [jose] = await t.dataSource.query("SELECT next_appointment_at FROM patients WHERE external_id = 'MRN-1001'");
    expect(
      String(jose.next_appointment_at instanceof Date ? jose.next_appointment_at.toISOString() : jose.next_appointment_at),
    ).toMatch(/2031-05-04.09:30/);
    const tags = await t.dataSource.query(
      "SELECT t.name FROM patient_tags pt JOIN tags t ON t.id = pt.tag_id JOIN patients p ON p.id = pt.patient_id WHERE p.external_id = 'MRN-1001' ORDER BY t.name",
    );
    expect(tags.map((tag: { name: string }) => tag.name)).toEqual(['Diabetes', 'Spanish speaking']);
  });

  it('re-importing the same file changes nothing and writes no audit rows per patient', async () => {
    const before = await snapshot();
    const [{ n: auditBefore }] = await t.dataSource.query("SELECT COUNT(*) AS n FROM audit_events WHERE action LIKE 'patient.%'");
    const { run } = await upload(fixture('patients.csv'));
    expect(run!.counts.patients).toEqual({ new: 0, changed: 0, unchanged: 6 });
    expect(run!.counts.appointments).toEqual({ new: 0, changed: 0, unchanged: 3 });
    expect(await snapshot()).toEqual(before);
    const [{ n: auditAfter }] = await t.dataSource.query("SELECT COUNT(*) AS n FROM audit_events WHERE action LIKE 'patient.%'");
    expect(Number(auditAfter)).toBe(Number(auditBefore));
  });

  it('imports a FHIR Bundle with Practitioners and Appointments, and NDJSON; both are no-ops the second time', async () => {
    const bundle = await upload(fixture('bundle.json'));
    expect(bundle.run!.status).toBe('applied');
    expect(bundle.run!.counts).toMatchObject({
      patients: { new: 2 },
      providers: { new: 2 },
      appointments: { new: 2 },
      ignored: { 'cancelled appointments are not imported': 1, 'Organization resources are not imported': 1 },
    });
    const [soren] = await t.dataSource.query(
      "SELECT p.first_name, p.last_name, p.email, p.phone, pr.name AS provider FROM patients p LEFT JOIN providers pr ON pr.id = p.primary_provider_id WHERE p.external_id = 'FHIR-3001'",
    );
    expect(soren).toEqual({
      first_name: 'Søren Erik',
      last_name: 'Ødegaard',
      email: 'soren.odegaard@example.test',
      phone: '+47 555 01 02',
      provider: 'Dr. Carla Nguyen',
    });
    const [appointment] = await t.dataSource.query(
      "SELECT a.starts_at, p.external_id, pr.name FROM appointments a JOIN patients p ON p.id = a.patient_id JOIN providers pr ON pr.id = a.provider_id WHERE a.external_id = 'APPT-9001'",
    );
    expect(appointment.external_id).toBe('FHIR-3002');
    expect(appointment.name).toBe('Dr. Farid Haddad');
    const ndjson = await upload(fixture('export.ndjson'));
    expect(ndjson.run!.counts).toMatchObject({ patients: { new: 2 }, providers: { new: 1 }, appointments: { new: 1 } });

    const before = await snapshot();
    expect((await upload(fixture('bundle.json'))).run!.counts).toMatchObject({
      patients: { new: 0, changed: 0, unchanged: 2 },
      providers: { unchanged: 2 },
      appointments: { unchanged: 2 },
    });
    expect((await upload(fixture('export.ndjson'))).run!.counts).toMatchObject({
      patients: { unchanged: 2 },
      appointments: { unchanged: 1 },
    });
    expect(await snapshot()).toEqual(before);
  });

  it('applies nothing from a file with bad rows and lists each bad row with its line and reason', async () => {
    const before = await snapshot();
    const { run, page } = await upload(fixture('patients-bad.csv'));
    expect(run!.status).toBe('rejected');
    expect(await snapshot()).toEqual(before);
    const reasons = run!.problems.map((p: { where: string; reason: string }) => `${p.where}: ${p.reason}`);
    expect(reasons).toEqual(
      expect.arrayContaining([
        'line 3: bad date of birth "1990-02-30" (use YYYY-MM-DD)',
        'line 4: invalid email "not-an-email"',
        'line 5: unknown provider "Dr. Nobody"',
        'line 6: duplicate external id MRN-2005 in the file (also on line 7)',
        'line 7: duplicate external id MRN-2005 in the file (first on line 6)',
        'line 8: missing last name',
      ]),
    );
    expect(reasons.some((r: string) => r.startsWith('line 2:') || r.startsWith('line 9:'))).toBe(false);
    expect(page!.text).toContain('Not imported: the file has bad rows');
    expect(page!.text).toContain('unknown provider &quot;Dr. Nobody&quot;');
  });

  it('imports only the valid rows when "skip the rest" is ticked', async () => {
    const { run } = await upload(fixture('patients-bad.csv'), { skipInvalid: 'yes' });
    expect(run!.status).toBe('applied');
    expect(run!.counts).toMatchObject({ rejected: 6, patients: { new: 2 } });
    const ids = await t.dataSource.query(
      "SELECT external_id FROM patients WHERE external_id LIKE 'MRN-20%' ORDER BY external_id",
    );
    expect(ids.map((r: { external_id: string }) => r.external_id)).toEqual(['MRN-2001', 'MRN-2008']);
  });

  it('a dry run shows the counts and writes nothing', async () => {
    const file = join(t.database.dataDir, 'changed.csv');
    writeFileSync(file, "mrn,first_name,last_name,dob\nMRN-1001,José,O'Brien-Ruiz,1984-03-07\nMRN-9999,New,Person,2000-01-01\n");
    const before = await snapshot();
    const { run, page } = await upload(file, { dryRun: 'yes' });
    expect(run!.status).toBe('dry_run');
    expect(run!.counts.patients).toEqual({ new: 1, changed: 1, unchanged: 0 });
    expect(page!.text).toContain('Dry run finished');
    expect(await snapshot()).toEqual(before);
    const [event] = await auditActions(t.dataSource, 'action = ?', ['import.dry_run']);
    expect(JSON.parse(event.details!)).toMatchObject({ fileName: 'changed.csv', counts: { patients: { new: 1, changed: 1 } } });
  });

  it('an import never changes an email itself: it reports the change as waiting for approval and tells the old address', async () => {
    const { id } = await createPortalPatient(t, { firstName: 'Imani', email: 'imani.old@example.test' });
    await t.dataSource.query(
      "UPDATE patients SET external_id = 'MRN-7001', last_name = 'Okafor', date_of_birth = '1988-08-08' WHERE id = ?",
      [id],
    );
    await admin.post(`/patients/${id}/portal/invite`).type('form').send({ _csrf: admin.csrf }).expect(303);

    const file = join(t.database.dataDir, 'email-change.csv');
    writeFileSync(
      file,
      'external_id,first_name,last_name,date_of_birth,email\nMRN-7001,Imani,Okafor,1988-08-08,imani.new@example.test\n',
    );
    const { run, page } = await upload(file);
    expect(run!.counts).toMatchObject({ emailChanges: 1 });
    expect(page!.text).toContain('waiting for approval');
    // The import page says so before anyone uploads (it once said the change applied at once).
    const form = (await admin.get('/admin/import').expect(200)).text;
    expect(form).toContain('an email change in the file is only requested');
    expect(form).not.toContain('revokes the patient');
    const [{ email }] = await t.dataSource.query('SELECT email FROM patients WHERE id = ?', [id]);
    expect(email).toBe('imani.old@example.test');
    const [{ n: stillOpen }] = await t.dataSource.query(
      'SELECT COUNT(*) AS n FROM portal_tokens WHERE patient_id = ? AND revoked_at IS NULL',
      [id],
    );
    expect(Number(stillOpen)).toBe(1);
    const [request] = await t.dataSource.query(
      'SELECT status, source, requested_by, new_email FROM email_change_requests WHERE patient_id = ?',
      [id],
    );
    expect(request).toMatchObject({ status: 'awaiting_approval', source: 'import', new_email: 'imani.new@example.test' });
    expect(Number(request.requested_by)).toBe(admin.user.id);
    // Labelled with the file: a key, written out on the queue in the staff language (English here).
    expect((await admin.get('/admin/email-changes').expect(200)).text).toContain('<td>Import of email-change.csv</td>');

    const sender = t.app.get(MailSenderService);
    const sentBefore = smtp.received.length;
    await sender.drainOnce();
    await smtp.waitFor(sentBefore + 1);
    expect(smtp.received.filter((mail) => mail.to.includes('imani.new@example.test'))).toHaveLength(0);
    const notices = smtp.received.filter((mail) => mail.to.includes('imani.old@example.test'));
    const notice = await smtp.parse(notices[notices.length - 1]);
    expect(notice.subject).toContain('change of your');
    expect(notice.text).toContain('i•••@example.test');
    expect(notice.text).not.toContain('imani.new@example.test');
    expect(notice.text).toMatch(/\/portal\/email-change\/report\/[A-Za-z0-9_-]{43}/);
    const [event] = await t.dataSource.query(
      "SELECT actor_type, actor_id, details FROM audit_events WHERE action = 'patient.email_change_requested' AND patient_id = ?",
      [id],
    );
    expect(event.actor_type).toBe('import');
    expect(Number(event.actor_id)).toBe(admin.user.id);
    expect(JSON.parse(event.details)).toMatchObject({
      from: 'imani.old@example.test',
      to: 'imani.new@example.test',
      fileName: 'email-change.csv',
      needsApproval: true,
      oldAddressNotified: true,
    });

    // Importing the same file again requests nothing new.
    await upload(file);
    const [{ n: requests }] = await t.dataSource.query('SELECT COUNT(*) AS n FROM email_change_requests WHERE patient_id = ?', [
      id,
    ]);
    expect(Number(requests)).toBe(1);
  });

  it('audits every import with who, the file name and the counts', async () => {
    const events = await t.dataSource.query(
      "SELECT actor_type, actor_id, actor_label, details FROM audit_events WHERE action IN ('import.applied', 'import.rejected') ORDER BY id",
    );
    expect(events.length).toBeGreaterThanOrEqual(4);
    for (const event of events) {
      expect(event.actor_type).toBe('import');
      expect(Number(event.actor_id)).toBe(admin.user.id);
      expect(JSON.parse(event.details)).toEqual(
        expect.objectContaining({
          fileName: expect.any(String),
          counts: expect.objectContaining({ patients: expect.any(Object) }),
        }),
      );
    }
  });

  it('refuses oversize, empty and wrong-type uploads with a clear message and imports nothing', async () => {
    const before = await snapshot();
    const big = join(t.database.dataDir, 'big.csv');
    writeFileSync(big, 'external_id,first_name,last_name,date_of_birth\n' + 'MRN-X,Al,Bo,1990-01-01\n'.repeat(2000));
    const oversize = await upload(big);
    expect(oversize.res.status).toBe(413);
    expect(oversize.res.text).toContain('larger than the import limit of 20 KB');

    const pdf = join(t.database.dataDir, 'scan.pdf');
    writeFileSync(pdf, Buffer.from('%PDF-1.4\n\u0000\u0001binary'));
    const wrongName = await upload(pdf);
    expect(wrongName.res.status).toBe(415);
    expect(wrongName.res.text).toContain('Upload a CSV file');

    const renamed = join(t.database.dataDir, 'spreadsheet.csv');
    writeFileSync(renamed, Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00, 0x08, 0x00]));
    const binary = await upload(renamed);
    expect(binary.res.status).toBe(415);
    expect(binary.res.text).toContain('is not a text file');

    const notPatients = join(t.database.dataDir, 'orders.csv');
    writeFileSync(notPatients, 'order,amount\n1,20\n');
    const wrongColumns = await upload(notPatients);
    expect(wrongColumns.run!.status).toBe('failed');
    expect(wrongColumns.page!.text).toContain('does not look like a patient CSV');

    const noFile = await admin.post('/admin/import').set('X-CSRF-Token', admin.csrf).field('dryRun', 'yes');
    expect(noFile.status).toBe(400);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses the page and the upload to staff who are not admins, and uploads without a CSRF token', async () => {
    const staff = await signInAs(t, 'staff');
    expect((await staff.get('/admin/import')).status).toBe(403);
    // The refusal comes before the body is read, so the server may close the connection while the client is still
    // sending the file (EPIPE/ECONNRESET); either way nothing is imported.
    const refused = (upload: Promise<{ status: number }>) =>
      upload.then(
        (res) => res.status,
        (error: NodeJS.ErrnoException) => (['EPIPE', 'ECONNRESET'].includes(error.code ?? '') ? 'closed' : Promise.reject(error)),
      );
    const runsBefore = Number((await t.dataSource.query('SELECT COUNT(*) AS n FROM import_runs'))[0].n);
    expect([403, 'closed']).toContain(
      await refused(staff.post('/admin/import').set('X-CSRF-Token', staff.csrf).attach('file', fixture('patients.csv'))),
    );
    expect([403, 'closed']).toContain(await refused(admin.post('/admin/import').attach('file', fixture('patients.csv'))));
    expect(Number((await t.dataSource.query('SELECT COUNT(*) AS n FROM import_runs'))[0].n)).toBe(runsBefore);
    const anonymous = await request(t.server).get('/admin/import');
    expect([302, 303, 401]).toContain(anonymous.status);
    expect((await admin.get('/admin/import').expect(200)).text).toContain('Import the valid rows and skip the rest');
  });
});
