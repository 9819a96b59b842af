import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { uploadImport } from '../../support/imports';
import { auditActions } from '../../support/sessions';
import { signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

// Each import boots a worker thread (the app compiled anew): on a loaded 2-core machine one test's imports take minutes.
jest.setTimeout(600_000);

const fixture = (name: string) => join(__dirname, '../../fixtures/import', name);
const mr = (value: string, system?: string) => ({ type: { coding: [{ code: 'MR' }] }, ...(system ? { system } : {}), value });

/** Issue #20: what a clinic's own EHR export brings (deceased patients, identifiers, practitioners, valid FHIR). */
describe('imports from real EHR exports', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof signInAs>>;

  beforeAll(async () => {
    t = await startTestApp();
    admin = await signInAs(t, 'admin');
  });
  afterAll(async () => t.close());

  const upload = (file: string, fields: Record<string, string> = {}) => uploadImport(t, admin, file, fields);
  const writeJson = (name: string, value: unknown) => {
    const path = join(t.database.dataDir, name);
    writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
    return path;
  };
  const patientId = async (externalId: string) =>
    Number((await t.dataSource.query('SELECT id FROM patients WHERE external_id = ?', [externalId]))[0].id);
  const htmxPost = (url: string, body = '') =>
    admin.post(url).set('HX-Request', 'true').set('X-CSRF-Token', admin.csrf).type('form').send(body);

  describe('deceased patients', () => {
    it('an import that marks enabled, invited patients deceased turns access off, revokes links, cancels waiting emails, ends sessions, audited', async () => {
      // The clinic's patients as they were before the EHR recorded the deaths: enabled and invited (emails still waiting).
      writeFileSync(
        join(t.database.dataDir, 'before.csv'),
        'external_id,first_name,last_name,date_of_birth,email\nDEC-1,Edith,Ashworth,1931-04-12,edith.ashworth@example.test\nDEC-2,Tom,Brannigan,1950-08-30,tom.brannigan@example.test\nDEC-3,Rosa,Castillo,1988-02-14,rosa.castillo@example.test\n',
      );
      expect((await upload(join(t.database.dataDir, 'before.csv'))).run!.status).toBe('applied');
      const ids = await Promise.all(['DEC-1', 'DEC-2', 'DEC-3'].map(patientId));
      await htmxPost('/portal-onboarding/bulk/enable', ids.map((id) => `ids=${id}`).join('&')).expect(200);
      await htmxPost('/portal-onboarding/bulk/invite', ids.map((id) => `ids=${id}`).join('&')).expect(200);
      const pending = async (id: number) =>
        Number(
          (await t.dataSource.query("SELECT COUNT(*) AS n FROM mail_outbox WHERE patient_id = ? AND status = 'pending'", [id]))[0]
            .n,
        );
      expect(await pending(ids[0])).toBe(1);
      const generation = async (id: number) =>
        Number(
          (await t.dataSource.query('SELECT session_generation FROM portal_accounts WHERE patient_id = ?', [id]))[0]
            .session_generation,
        );
      const generationsBefore = await Promise.all(ids.map(generation));

      const { run, page } = await upload(fixture('deceased.json'));
      expect(run!.status).toBe('applied');
      // All three change: the two deaths, and each record now names its identifier system (the CSV had none).
      expect(run!.counts).toMatchObject({ deceased: 2, patients: { changed: 3, unchanged: 0 } });
      expect(page!.text).toContain('2 patients were recorded as deceased');
      const rows = await t.dataSource.query(
        'SELECT p.external_id, p.deceased, p.deceased_date, p.external_id_system, pa.access_enabled FROM patients p JOIN portal_accounts pa ON pa.patient_id = p.id WHERE p.external_id IN (?, ?, ?) ORDER BY p.external_id',
        ['DEC-1', 'DEC-2', 'DEC-3'],
      );
      expect(
        rows.map((r: Record<string, unknown>) => [
          r.external_id,
          Number(r.deceased),
          r.deceased_date,
          Number(r.access_enabled),
          r.external_id_system,
        ]),
      ).toEqual([
        ['DEC-1', 1, '2024-11-02', 0, 'urn:oid:2.999.1'],
        ['DEC-2', 1, null, 0, 'urn:oid:2.999.1'],
        ['DEC-3', 0, null, 1, 'urn:oid:2.999.1'],
      ]);
      for (const id of ids.slice(0, 2)) {
        expect(await pending(id)).toBe(0);
        const [{ n }] = await t.dataSource.query(
          'SELECT COUNT(*) AS n FROM portal_tokens WHERE patient_id = ? AND revoked_at IS NULL',
          [id],
        );
        expect(Number(n)).toBe(0);
      }
      expect(await pending(ids[2])).toBe(1);
      const [cancelled] = await t.dataSource.query('SELECT status, text_body FROM mail_outbox WHERE patient_id = ?', [ids[0]]);
      expect(cancelled).toEqual({ status: 'cancelled', text_body: null });
      const generationsAfter = await Promise.all(ids.map(generation));
      expect(generationsAfter[0]).toBeGreaterThan(generationsBefore[0]);
      expect(generationsAfter[1]).toBeGreaterThan(generationsBefore[1]);
      expect(generationsAfter[2]).toBe(generationsBefore[2]);
      const audits = await auditActions(t.dataSource, "action = 'patient.marked_deceased'");
      expect(audits).toHaveLength(2);
      expect(JSON.parse(audits[0].details!)).toMatchObject({
        accessDisabled: true,
        emailsCancelled: 1,
        sessionsEnded: true,
        fileName: 'deceased.json',
      });
      // The same file again: nothing more to do.
      expect((await upload(fixture('deceased.json'))).run!.counts).toMatchObject({ deceased: 0, patients: { unchanged: 3 } });
    });

    it('a deceased patient is never enabled or invited: the row says "Deceased", bulk actions count them as skipped, single actions refuse', async () => {
      const [edith, tom, rosa] = await Promise.all(['DEC-1', 'DEC-2', 'DEC-3'].map(patientId));
      const page = await admin.get('/portal-onboarding?q=Ashworth').expect(200);
      expect(page.text).toMatch(/status-deceased[^>]*>\s*<span class="status-label">Deceased<\/span>/);
      expect(page.text).not.toContain(`/portal-onboarding/patients/${edith}/enable`);
      expect(page.text).not.toContain(`/portal-onboarding/patients/${edith}/invite`);

      const enable = await htmxPost(`/portal-onboarding/patients/${edith}/enable`).expect(409);
      expect(enable.text).toContain(
        'Edith Ashworth is recorded as deceased: portal access cannot be enabled. Nothing was changed.',
      );
      const invite = await htmxPost(`/portal-onboarding/patients/${edith}/invite`).expect(409);
      expect(invite.text).toContain('Edith Ashworth is recorded as deceased: no invite or reset email is sent.');
      await admin.post(`/patients/${tom}/portal/enable`).set('X-CSRF-Token', admin.csrf).expect(409);
      const dashboard = await admin.get(`/patients/${edith}?tab=portal`).expect(200);
      expect(dashboard.text).toContain('Recorded as deceased (2024-11-02): portal access cannot be enabled');
      expect(dashboard.text).not.toContain('Enable portal access</button>');

      const bulkEnable = await htmxPost('/portal-onboarding/bulk/enable', `ids=${edith}&ids=${tom}&ids=${rosa}`).expect(200);
      expect(bulkEnable.text).toContain('1 already had access and were left unchanged; 2 skipped: deceased.');
      const preview = await htmxPost('/portal-onboarding/bulk/invite/preview', `ids=${edith}&ids=${tom}&ids=${rosa}`).expect(200);
      expect(preview.text).toContain('2 skipped: deceased');
      const outboxBefore = Number((await t.dataSource.query('SELECT COUNT(*) AS n FROM mail_outbox'))[0].n);
      await htmxPost('/portal-onboarding/bulk/invite', `ids=${edith}&ids=${tom}`).expect(200);
      expect(Number((await t.dataSource.query('SELECT COUNT(*) AS n FROM mail_outbox'))[0].n)).toBe(outboxBefore);
      const [{ access_enabled }] = await t.dataSource.query('SELECT access_enabled FROM portal_accounts WHERE patient_id = ?', [
        edith,
      ]);
      expect(Number(access_enabled)).toBe(0);
      expect((await auditActions(t.dataSource, "action = 'portal.enable_skipped'")).length).toBe(2);
    });

    it('reads the CSV deceased_date column; a new patient can arrive deceased', async () => {
      const { run } = await upload(fixture('deceased.csv'));
      expect(run!.counts).toMatchObject({ deceased: 1, patients: { new: 2 } });
      const rows = await t.dataSource.query(
        "SELECT external_id, deceased, deceased_date FROM patients WHERE external_id LIKE 'DEC-CSV-%' ORDER BY external_id",
      );
      expect(rows.map((r: Record<string, unknown>) => [r.external_id, Number(r.deceased), r.deceased_date])).toEqual([
        ['DEC-CSV-1', 1, '2025-01-20'],
        ['DEC-CSV-2', 0, null],
      ]);
      await htmxPost(`/portal-onboarding/patients/${await patientId('DEC-CSV-1')}/enable`).expect(409);
    });
  });

  describe('identifiers', () => {
    it('takes the Epic MRN, never an SSN, BSN, licence or passport number, and never stores or shows one', async () => {
      // MR-12345 and MR-555 are already on file, from the clinic's own MRN system.
      writeFileSync(
        join(t.database.dataDir, 'own.json'),
        JSON.stringify({
          resourceType: 'Bundle',
          entry: [
            {
              resource: {
                resourceType: 'Patient',
                identifier: [mr('MR-12345', 'urn:oid:2.999.1')],
                name: [{ family: 'Original', given: ['Olga'] }],
                birthDate: '1960-06-06',
                telecom: [{ system: 'phone', value: '555-0001' }],
              },
            },
            {
              resource: {
                resourceType: 'Patient',
                identifier: [mr('MR-555', 'urn:oid:2.999.1')],
                name: [{ family: 'Keeper', given: ['Kim'] }],
                birthDate: '1966-06-06',
              },
            },
          ],
        }),
      );
      expect((await upload(join(t.database.dataDir, 'own.json'))).run!.counts.patients.new).toBe(2);

      const { run, page } = await upload(fixture('identifiers.json'), { skipInvalid: 'yes' });
      expect(run!.status).toBe('applied');
      expect(run!.counts.patients).toMatchObject({ new: 1 });
      const [lena] = await t.dataSource.query(
        "SELECT external_id, external_id_system FROM patients WHERE last_name = 'Whitfield'",
      );
      expect(lena).toEqual({ external_id: 'EPICMRN204', external_id_system: 'urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14' });
      const reasons = run!.problems.map((p) => `${p.where}: ${p.reason}`);
      expect(reasons).toEqual([
        'entry 2: no medical record number',
        'entry 3: no medical record number',
        expect.stringMatching(
          /^entry 4: looks like a different person: the patient on file with this identifier value is from another identifier system/,
        ),
        expect.stringMatching(/^entry 5: looks like a different person: both the name and the date of birth differ/),
      ]);
      // The other authority's MR-12345 did not overwrite the clinic's patient.
      const [olga] = await t.dataSource.query(
        "SELECT first_name, last_name, date_of_birth, phone FROM patients WHERE external_id = 'MR-12345'",
      );
      expect([olga.first_name, olga.last_name, olga.phone]).toEqual(['Olga', 'Original', '555-0001']);
      const [kim] = await t.dataSource.query("SELECT first_name FROM patients WHERE external_id = 'MR-555'");
      expect(kim.first_name).toBe('Kim');
      // No personal identifier anywhere: not an external id, not in the run, not on the page, not in the audit trail.
      const personal = /999-44-1234|999-87-6543|S99988801|X12345678|123456782/;
      const stored = await t.dataSource.query('SELECT external_id FROM patients');
      expect(stored.some((row: { external_id: string | null }) => personal.test(row.external_id ?? ''))).toBe(false);
      const [raw] = await t.dataSource.query('SELECT problems, counts, message FROM import_runs WHERE id = ?', [run!.id]);
      expect(JSON.stringify(raw)).not.toMatch(personal);
      expect(page!.text).not.toMatch(personal);
      const audit = await t.dataSource.query('SELECT details FROM audit_events');
      expect(JSON.stringify(audit)).not.toMatch(personal);
    });
  });

  describe('practitioners', () => {
    it('keeps two practitioners of one name apart by NPI, resolves a later file by FHIR id, and warns for a reference to nothing', async () => {
      const { run, page } = await upload(fixture('practitioners.json'));
      expect(run!.status).toBe('applied');
      expect(run!.counts).toMatchObject({ providers: { new: 2 }, patients: { new: 3 }, warnings: 1 });
      expect(run!.warnings).toEqual([
        { where: 'entry 5', reason: 'unknown provider "Practitioner/not-in-this-file"; imported without a provider' },
      ]);
      expect(page!.text).toContain('Imported with a warning');
      const providers = await t.dataSource.query(
        "SELECT name, external_id, fhir_id FROM providers WHERE name = 'Dr. Sam Lee' ORDER BY external_id",
      );
      expect(providers).toEqual([
        { name: 'Dr. Sam Lee', external_id: '1000000004', fhir_id: 'Practitioner/sam-lee-a' },
        { name: 'Dr. Sam Lee', external_id: '2000000008', fhir_id: 'Practitioner/sam-lee-b' },
      ]);
      const gp = async (externalId: string) =>
        (
          await t.dataSource.query(
            'SELECT pr.external_id FROM patients p LEFT JOIN providers pr ON pr.id = p.primary_provider_id WHERE p.external_id = ?',
            [externalId],
          )
        )[0].external_id;
      expect([await gp('PR-1'), await gp('PR-2'), await gp('PR-3')]).toEqual(['1000000004', '2000000008', null]);
      // Re-importing does not flip the NPIs.
      expect((await upload(fixture('practitioners.json'))).run!.counts).toMatchObject({
        providers: { unchanged: 2 },
        patients: { unchanged: 3 },
      });
      const later = await upload(fixture('practitioners-later.json'));
      expect(later.run!.problems).toEqual([]);
      expect(await gp('PR-4')).toBe('2000000008');
    });
  });

  describe('valid FHIR', () => {
    it('counts request entries and unscheduled appointments, uses name.text and ContactPoint.rank, and gives the true reason for a year-only birth date', async () => {
      const { run, page } = await upload(fixture('valid-fhir.json'), { skipInvalid: 'yes' });
      expect(run!.status).toBe('applied');
      expect(run!.counts.ignored).toEqual({
        'request entries (DELETE/GET, no resource)': 2,
        'proposed appointments without a start are not imported': 1,
        'waitlist appointments without a start are not imported': 1,
      });
      expect(run!.counts).toMatchObject({ patients: { new: 1 }, appointments: { new: 1 } });
      expect(run!.problems.map((p) => `${p.where}: ${p.reason}`)).toEqual([
        "entry 2: only the year of birth is known (1970); the portal's identity check needs a full date of birth",
        'entry 7: patient entry 2 was rejected',
      ]);
      expect(page!.text).toContain('Not imported: 2 × request entries');
      const [marguerite] = await t.dataSource.query(
        "SELECT first_name, last_name, email, phone FROM patients WHERE external_id = 'VF-2'",
      );
      expect(marguerite).toEqual({
        first_name: 'Marguerite',
        last_name: 'Dubois',
        email: 'm.dubois@example.test',
        phone: '555-0100',
      });
    });

    it('accepts a single pretty-printed resource like one on a line', async () => {
      const { run } = await upload(fixture('single-patient.json'));
      expect(run!.status).toBe('applied');
      expect(run!.counts.patients.new).toBe(1);
      expect((await t.dataSource.query("SELECT first_name FROM patients WHERE external_id = 'SINGLE-1'"))[0].first_name).toBe(
        'Hana',
      );
    });

    it('a 5 MB narrative and a 5.6 MB DocumentReference do not fail a Bundle with valid patients in it', async () => {
      const narrative = `<div xmlns="http://www.w3.org/1999/xhtml"><p>${'History of present illness. '.repeat(190_000)}</p></div>`;
      const path = writeJson('big.json', {
        resourceType: 'Bundle',
        entry: [
          {
            resource: {
              resourceType: 'Patient',
              identifier: [mr('BIG-1')],
              name: [{ family: 'Narrative', given: ['Nell'] }],
              birthDate: '1977-07-07',
              text: { status: 'generated', div: narrative },
            },
          },
          {
            resource: {
              resourceType: 'DocumentReference',
              id: 'doc',
              status: 'current',
              content: [{ attachment: { contentType: 'application/pdf', data: 'JVBERi0'.repeat(800_000) } }],
            },
          },
          {
            resource: {
              resourceType: 'Patient',
              identifier: [mr('BIG-2')],
              name: [{ family: 'Small', given: ['Sid'] }],
              birthDate: '1978-08-08',
            },
          },
        ],
      });
      const { run } = await upload(path);
      expect(run!.status).toBe('applied');
      expect(run!.counts).toMatchObject({
        rejected: 0,
        patients: { new: 2 },
        ignored: { 'DocumentReference resources are not imported': 1 },
      });
    });
  });
});
