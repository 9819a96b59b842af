import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPortalPatient } from '../../support/portal-patients';
import { uploadImport } from '../../support/imports';
import { signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

describe("a patient's preferred language", () => {
  let t: TestApp;
  let staff: Awaited<ReturnType<typeof signInAs>>;
  let admin: Awaited<ReturnType<typeof signInAs>>;
  const dir = mkdtempSync(join(tmpdir(), 'language-import-'));

  beforeAll(async () => {
    t = await startTestApp();
    staff = await signInAs(t);
    admin = await signInAs(t, 'admin');
  });
  afterAll(() => t.close());

  const languageOf = async (id: number) =>
    (await t.dataSource.query('SELECT preferred_language FROM patients WHERE id = ?', [id]))[0].preferred_language;
  const detailsForm = async (id: number) => {
    const [row] = await t.dataSource.query('SELECT first_name, last_name, date_of_birth, version FROM patients WHERE id = ?', [
      id,
    ]);
    return {
      _csrf: staff.csrf,
      firstName: row.first_name,
      lastName: row.last_name,
      dateOfBirth: String(row.date_of_birth).slice(0, 10),
      version: String(row.version),
    };
  };

  it('is set on the dashboard details form from the configured list, audited, and refused when not offered', async () => {
    const { id } = await createPortalPatient(t, { firstName: 'Lucia', lastName: 'Lenguaje' });
    const edit = await staff.get(`/patients/${id}?tab=details&edit=details`).expect(200);
    expect(edit.text).toContain('<option value="es" >Spanish</option>');

    await staff
      .post(`/patients/${id}/details`)
      .type('form')
      .send({ ...(await detailsForm(id)), preferredLanguage: 'es' })
      .expect(303);
    expect(await languageOf(id)).toBe('es');
    const [event] = await t.dataSource.query(
      "SELECT details FROM audit_events WHERE action = 'patient.details_changed' AND patient_id = ? ORDER BY id DESC",
      [id],
    );
    expect(JSON.parse(event.details).changed).toEqual(['preferredLanguage']);
    expect((await staff.get(`/patients/${id}?tab=details`).expect(200)).text).toContain('<dd>Spanish</dd>');

    const refused = await staff
      .post(`/patients/${id}/details`)
      .type('form')
      .send({ ...(await detailsForm(id)), preferredLanguage: 'fr' });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('Choose a language the portal offers (en, es), or leave it empty.');
    expect(await languageOf(id)).toBe('es');
  });

  it('shows on the onboarding row and filters the list (a language, or not known)', async () => {
    const spanish = await createPortalPatient(t, { lastName: 'Filtro-Uno' });
    const unknown = await createPortalPatient(t, { lastName: 'Filtro-Dos' });
    await t.dataSource.query("UPDATE patients SET preferred_language = 'es' WHERE id = ?", [spanish.id]);

    const es = await staff.get('/portal-onboarding?q=Filtro&language=es').expect(200);
    expect(es.text).toContain(`id="patient-${spanish.id}"`);
    expect(es.text).not.toContain(`id="patient-${unknown.id}"`);
    expect(es.text).toContain('<abbr class="lang-badge" title="Preferred language: Spanish">ES</abbr>');
    const none = await staff.get('/portal-onboarding?q=Filtro&language=none').expect(200);
    expect(none.text).toContain(`id="patient-${unknown.id}"`);
    expect(none.text).not.toContain(`id="patient-${spanish.id}"`);
    const bad = await staff.get('/portal-onboarding?q=Filtro&language=%3Cscript%3E').expect(200);
    expect(bad.text).toContain('Preferred language: not one of the languages in the list.');
  });

  it('comes from a CSV `language` column (BCP 47, any case) and refuses a value that is not a language tag', async () => {
    const file = join(dir, 'languages.csv');
    writeFileSync(
      file,
      'mrn,first_name,last_name,dob,email,language\n' +
        'LANG-1,Ana,Uno,1980-01-01,ana.uno@example.test,ES\n' +
        'LANG-2,Ben,Dos,1981-02-02,ben.dos@example.test,en-us\n' +
        'LANG-3,Cy,Tres,1982-03-03,cy.tres@example.test,\n' +
        'LANG-4,Di,Cuatro,1983-04-04,di.cuatro@example.test,Spanish please\n',
    );
    const { run } = await uploadImport(t, admin, file, { skipInvalid: 'yes' });
    expect(run!.status).toBe('applied');
    expect(run!.counts.patients.new).toBe(3);
    expect(run!.problems).toEqual([expect.objectContaining({ reason: expect.stringContaining('language "Spanish please"') })]);
    const rows = await t.dataSource.query(
      "SELECT external_id, preferred_language FROM patients WHERE external_id LIKE 'LANG-%' ORDER BY external_id",
    );
    expect(rows.map((row: { preferred_language: string | null }) => row.preferred_language)).toEqual(['es', 'en-US', null]);
  });

  it('comes from FHIR Patient.communication marked preferred', async () => {
    const file = join(dir, 'patient.json');
    const patient = (mrn: string, communication: unknown[]) => ({
      resource: {
        resourceType: 'Patient',
        identifier: [{ value: mrn }],
        name: [{ given: ['Flor'], family: mrn }],
        birthDate: '1970-05-05',
        telecom: [{ system: 'email', value: `${mrn.toLowerCase()}@example.test` }],
        communication,
      },
    });
    writeFileSync(
      file,
      JSON.stringify({
        resourceType: 'Bundle',
        type: 'collection',
        entry: [
          patient('FHIR-LANG-1', [
            { language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'en' }] } },
            { language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'es' }] }, preferred: true },
          ]),
          patient('FHIR-LANG-2', [{ language: { coding: [{ system: 'urn:ietf:bcp:47', code: 'es' }] } }]),
        ],
      }),
    );
    const { run } = await uploadImport(t, admin, file);
    expect(run!.status).toBe('applied');
    const rows = await t.dataSource.query(
      "SELECT external_id, preferred_language FROM patients WHERE external_id LIKE 'FHIR-LANG-%' ORDER BY external_id",
    );
    expect(rows.map((row: { preferred_language: string | null }) => row.preferred_language)).toEqual(['es', null]);
  });
});

describe('staff pages through the same translations', () => {
  let t: TestApp;
  afterAll(() => t?.close());

  it('a staff translation is a file: STAFF_LANGUAGE=es shows the menu and the onboarding page from locales/es/staff.json', async () => {
    t = await startTestApp({ STAFF_LANGUAGE: 'es' });
    const staff = await signInAs(t);
    const page = await staff.get('/portal-onboarding').expect(200);
    expect(page.text).toContain('<html lang="es" dir="ltr">');
    expect(page.text).toContain('<h1>Herramienta de alta en el Portal del Paciente</h1>');
    expect(page.text).toContain('>Herramienta de alta en el Portal</a>');
    expect(page.text).toMatch(/<strong>0<\/strong> pacientes\./);
  });
});
