import request from 'supertest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seedDemoData } from '../../../src/demo/demo-seeder';
import { csrfTokenOf } from '../../support/html';
import { createPortalPatient } from '../../support/portal-patients';
import { signInAs } from '../../support/staff';
import { uploadImport } from '../../support/imports';
import { startTestApp, TestApp } from '../../support/test-app';
import { STAFF_PASSWORD } from '../../support/staff';

/** Text i18next prints when a key is missing: the key path itself (e.g. "admin.users.title"; audit keys are left out, the
 * audit table names actions such as "audit.viewed" on purpose, and its headings are checked by name below). */
const KEY_PATH =
  /[>"]\s*(auth|account|admin|setup|totpSetup|onboarding|patient|portalTab|representatives|reach|row|status|inviteProblem|bulk|letters|activity|notices|emailChanges|imports|activationCode|saved|flash)\.[a-z][A-Za-z]*(\.[A-Za-z_]+)*(_one|_other)?\s*[<"]/;
/** A page's text without its drop-downs, whose options name audit actions ("audit.viewed") on purpose. */
const withoutSelects = (html: string) => html.replace(/<select[\s\S]*?<\/select>/g, '');

/**
 * English left on a Spanish page: words Spanish never uses ("invite" is Spanish too, usted imperative), in what staff read (text and the attributes a screen reader
 * speaks). The drop-downs (provider and tag names), the table cells of names and addresses and the clinic name are data.
 */
const ENGLISH_WORDS =
  'the and with is are was were has have your this that from for to of by on or an it be not any yes invites send save email emails showing download patients next page reminder reminders access account enabled search status';
/** Each word as written in a sentence ("the", "The"), never in capitals ("OR" is a state in an address). */
const ENGLISH = new RegExp(
  `(?<![\\p{L}\\p{N}])(${ENGLISH_WORDS.split(' ')
    .flatMap((word) => [word, word[0].toUpperCase() + word.slice(1)])
    .join('|')})(?![\\p{L}\\p{N}])`,
  'u',
);
function englishOn(html: string): string | null {
  const data = withoutSelects(html)
    .replace(/<(script|style|title)[\s\S]*?<\/\1>/g, ' ')
    .replace(/<td class="col-(name|email|provider|username)"[\s\S]*?<\/td>/g, ' ')
    .replace(/<a [^>]*href="\/patients\/\d+[^"]*"[^>]*>[^<]*<\/a>/g, ' ');
  const spoken = [...data.matchAll(/\s(?:aria-label|title|placeholder|alt)="([^"]*)"/g)].map((m) => m[1]);
  const text = data.replace(/<[^>]+>/g, '\n');
  for (const line of [...text.split('\n'), ...spoken]) {
    const words = line.replace(/&[a-z#0-9]+;/g, ' ').replace(/[\w.+-]+@[\w.-]+/g, ' ');
    const found = ENGLISH.exec(words);
    if (found) return `${found[0]} in “${line.trim()}”`;
  }
  return null;
}

/** The text is on the page; a failure names the text. */
function expectOnPage(html: string, text: string): void {
  expect({ text, has: html.includes(text) }).toEqual({ text, has: true });
}

describe('staff pages in STAFF_LANGUAGE', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ STAFF_LANGUAGE: 'es' });
    await seedDemoData(t.dataSource, { patients: 12, seed: 5 });
  });
  afterAll(() => t?.close());

  it('sign-in, the account pages and the admin pages come from locales/es/staff.json, no key printed as text', async () => {
    const login = await request(t.server).get('/login').expect(200);
    expect(login.text).toContain('<html lang="es" dir="ltr">');
    expect(login.text).toContain('<h1>Inicio de sesión del personal</h1>');
    expect(login.text).toContain('<label for="password">Contraseña</label>');

    const admin = await signInAs(t, 'admin');
    const pages: Array<[string, string]> = [
      ['/admin/users', '<h1>Usuarios del personal</h1>'],
      ['/admin/users/new', '<h1>Agregar un usuario del personal</h1>'],
      ['/admin/security', '<h1>Política de seguridad del inicio de sesión</h1>'],
      ['/admin/email-changes', '<h1>Cambios de correo electrónico</h1>'],
      ['/admin/audit', '<h1>Registro de auditoría</h1>'],
      ['/account/password', '<h1>Cambie su contraseña</h1>'],
      ['/account/security', '<h1>Seguridad del inicio de sesión</h1>'],
      ['/account/security/totp', 'Escanee este código QR con la aplicación:'],
    ];
    for (const [path, heading] of pages) {
      const page = await admin.get(path).expect(200);
      expect({ path, has: page.text.includes(heading) }).toEqual({ path, has: true });
      expect({ path, keyPath: KEY_PATH.exec(withoutSelects(page.text))?.[0] ?? null }).toEqual({ path, keyPath: null });
    }
    expect((await admin.get('/admin/audit').expect(200)).text).toContain('<th scope="col">Cuándo</th>');
  });

  it('the onboarding tool, both dashboard tabs and the import page come from locales/es/staff.json too', async () => {
    const admin = await signInAs(t, 'admin');
    const [{ id }] = await t.dataSource.query('SELECT MIN(id) AS id FROM patients');
    const pages: Array<[string, string[]]> = [
      [
        '/portal-onboarding',
        [
          '<th scope="col">Acción</th>',
          'aria-label="Seleccionar todos los pacientes de esta página"',
          '<span class="status-label">No activado</span>',
        ],
      ],
      [
        `/patients/${id}?tab=details`,
        ['<h2 id="patient-information-title">Información del paciente</h2>', '<dt>Fecha de nacimiento</dt>'],
      ],
      [`/patients/${id}?tab=details&edit=details`, ['<button type="submit" class="primary">Guardar datos</button>']],
      [`/patients/${id}?tab=portal`, ['<h3>Invitaciones y restablecimientos de contraseña</h3>', 'Representantes autorizados']],
      ['/admin/import', ['<button type="submit" class="primary">Subir e importar</button>']],
    ];
    for (const [path, texts] of pages) {
      const page = await admin.get(path).expect(200);
      for (const text of texts) expect({ path, text, has: page.text.includes(text) }).toEqual({ path, text, has: true });
      expect({ path, keyPath: KEY_PATH.exec(withoutSelects(page.text))?.[0] ?? null }).toEqual({ path, keyPath: null });
    }
    // A flash is a key until it is shown: the one after enabling access reads in the staff language.
    const tab = await admin.get(`/patients/${id}?tab=portal`).expect(200);
    await admin
      .post(`/patients/${id}/portal/enable`)
      .type('form')
      .send({ _csrf: csrfTokenOf(tab.text) })
      .expect(303);
    const after = await admin.get(`/patients/${id}?tab=portal&saved=enabled`).expect(200);
    expect(after.text).toContain('El acceso al Portal está activado. Envíe una invitación cuando el paciente esté listo.');
    // The bulk preview's summary is clauses of keys: each written out in Spanish, its skip reason too.
    const preview = await admin
      .post('/portal-onboarding/bulk/invite/preview')
      .set('HX-Request', 'true')
      .set('X-CSRF-Token', admin.csrf)
      .type('form')
      .send(`ids=${id}`)
      .expect(200);
    expect(preview.text).toMatch(/<p class="bulk-summary">se enviará(n)? \d+ invitaci(ón|ones)(; \d+ omitidos: [^<;]+)*\.<\/p>/);
    expect(preview.text).not.toContain('skipped');
  });

  it('the onboarding tool with a filter, the dashboard and its Patient Portal tab, imports, the worklist, the activation report and the reminder policy leave no English', async () => {
    const admin = await signInAs(t, 'admin');
    // A patient whose tab's activity list has a line to word: access enabled by staff.
    const { id } = await createPortalPatient(t, { lastName: 'Actividad', accessEnabled: false });
    await admin.post(`/patients/${id}/portal/enable`).type('form').send({ _csrf: admin.csrf }).expect(303);
    const pages: Array<[string, string[]]> = [
      ['/portal-onboarding', []],
      ['/portal-onboarding?status=orange&size=25&access=perhaps', ['Acceso activado: elija Cualquiera, Sí o No.']],
      ['/portal-onboarding?apptAfter=2031-12-10&apptBefore=2031-12-01', ['Ningún paciente puede coincidir']],
      [`/patients/${id}?tab=details`, []],
      [`/patients/${id}?tab=details&edit=details`, ['Dirección, línea 1']],
      [`/patients/${id}?tab=portal`, ['Acceso al Portal activado por']],
      ['/admin/import', []],
      ['/portal-onboarding/worklist', ['<h1>Lista de trabajo de activación</h1>', 'Siguiente paso:']],
      ['/portal-onboarding/worklist?view=no_email_visit', ['Sin correo, cita en los próximos 7 días']],
      ['/reports/activation', ['<h1>Informe de activación</h1>', 'Enlace abierto']],
      ['/reports/activation?by=month', ['Por mes de la primera invitación']],
      ['/admin/reminders', ['<h1>Recordatorios de invitación</h1>', 'Guardar la política de recordatorios']],
    ];
    for (const [path, texts] of pages) {
      const page = await admin.get(path).expect(200);
      for (const text of texts) expect({ path, text, has: page.text.includes(text) }).toEqual({ path, text, has: true });
      expect({ path, keyPath: KEY_PATH.exec(withoutSelects(page.text))?.[0] ?? null }).toEqual({ path, keyPath: null });
      expect({ path, english: englishOn(page.text) }).toEqual({ path, english: null });
    }
    // A refusal and a re-rendered form speak Spanish too: an unknown setting, a bad reminder policy.
    const unknown = await admin.get('/portal-onboarding/worklist?colour=red').expect(400);
    expect(unknown.text).toContain('Esta página no tiene ningún ajuste llamado «colour».');
    const policy = await admin
      .post('/admin/reminders')
      .type('form')
      .send({
        _csrf: admin.csrf,
        daysAfterInvite: 'tres',
        daysBeforeAppointment: '0',
        maxPerPatient: '1',
        allowedFromHour: '0',
        allowedUntilHour: '24',
      })
      .expect(400);
    expect(policy.text).toContain('Días después de la invitación: indique días enteros del 1 al 365');
    expect({ english: englishOn(policy.text) }).toEqual({ english: null });
    // The check itself sees English: a sentence, a button label, a spoken label.
    expect(englishOn('<p>Portal access enabled by Sam.</p>')).toContain('Portal access enabled by Sam.');
    expect(englishOn('<button>Save the reminder policy</button>')).not.toBeNull();
    expect(englishOn('<a aria-label="Next page" href="#">›</a>')).not.toBeNull();
  });

  it("an import dry run lists its row problems and warnings in Spanish, and an import's email change reads in Spanish", async () => {
    const admin = await signInAs(t, 'admin');
    const dir = mkdtempSync(join(tmpdir(), 'staff-language-'));
    const csv = join(dir, 'pacientes.csv');
    writeFileSync(
      csv,
      [
        'external_id,first_name,last_name,date_of_birth,email,deceased_date',
        'ES-1,Ana,Ruiz,1990-02-30,no-es-correo,',
        'ES-2,,Ruiz,1990,,',
        'ES-3,Luz,Mora,1990-01-01,,1980-01-01',
        'ES-5,Iris,Paz,1990-02-03,,',
        'ES-4,Eva "Eva",Mora,1990-01-01,,',
        'ES-5,Iris,Paz,1990-02-03,,',
      ].join('\n') + '\n',
    );
    const bundle = join(dir, 'pacientes.json');
    const patient = (id: string, extra: Record<string, unknown>) => ({
      resource: { resourceType: 'Patient', identifier: [{ value: id }], name: [{ family: 'Mora', given: ['Sol'] }], ...extra },
    });
    writeFileSync(
      bundle,
      JSON.stringify({
        resourceType: 'Bundle',
        entry: [
          patient('FH-1', { birthDate: '1980-01-01', generalPractitioner: [{ reference: 'Practitioner/nadie' }] }),
          patient('FH-2', { birthDate: '1980-05' }),
          { resource: { resourceType: 'Appointment', id: 'c1', status: 'booked', participant: [] } },
          { resource: { resourceType: 'Observation', id: 'o1' } },
        ],
      }),
    );
    const csvRun = await uploadImport(t, admin, csv, { dryRun: 'yes' });
    const fhirRun = await uploadImport(t, admin, bundle, { dryRun: 'yes' });
    expect(csvRun.run!.counts.rejected).toBe(6);
    expect(fhirRun.run!.counts).toMatchObject({ rejected: 2, warnings: 1 });
    // Stored as keys: the page writes them out.
    const [stored] = await t.dataSource.query('SELECT problems FROM import_runs WHERE id = ?', [csvRun.id]);
    expect(JSON.parse(stored.problems).problems[0]).toMatchObject({ where: 'staff:imports.at.line?line=2' });
    const csvPage = csvRun.page!.text;
    for (const text of [
      '<td>línea 2</td>',
      'fecha de nacimiento incorrecta «1990-02-30» (use AAAA-MM-DD)',
      'correo electrónico no válido «no-es-correo»',
      'falta el nombre',
      'solo se conoce el año de nacimiento (1990)',
      'la fecha de fallecimiento 1980-01-01 es anterior a la fecha de nacimiento',
      'identificador externo ES-5 repetido en el archivo (también en línea 7)',
      'identificador externo ES-5 repetido en el archivo (primero en línea 5)',
      'hay una comilla doble dentro de la celda 2',
    ])
      expectOnPage(csvPage, text);
    const fhirPage = fhirRun.page!.text;
    for (const text of [
      '<td>entrada 1</td>',
      'proveedor desconocido «Practitioner/nadie»; se importó sin proveedor',
      'solo se conocen el año y el mes de nacimiento (1980-05)',
      'falta el inicio (start)',
      'recursos Observation, que no se importan',
    ])
      expectOnPage(fhirPage, text);
    for (const page of [csvRun.page!, fhirRun.page!]) {
      expect({ english: englishOn(page.text) }).toEqual({ english: null });
      expect({ keyPath: KEY_PATH.exec(withoutSelects(page.text))?.[0] ?? null }).toEqual({ keyPath: null });
    }

    // An import that changes a patient's email: the request waits, labelled with the file, in Spanish on the queue and the tab.
    const { id } = await createPortalPatient(t, { firstName: 'Rosa', lastName: 'Campos', email: 'rosa.antes@example.test' });
    await t.dataSource.query("UPDATE patients SET external_id = 'ES-9', date_of_birth = '1975-03-04' WHERE id = ?", [id]);
    const change = join(dir, 'cambios.csv');
    writeFileSync(
      change,
      'external_id,first_name,last_name,date_of_birth,email\nES-9,Rosa,Campos,1975-03-04,rosa.nueva@example.test\n',
    );
    const applied = await uploadImport(t, admin, change);
    expect(applied.run!.counts).toMatchObject({ emailChanges: 1 });
    for (const path of ['/admin/email-changes', `/patients/${id}?tab=portal`]) {
      const page = await admin.get(path).expect(200);
      expect({ path, has: page.text.includes('<td>Importación de cambios.csv</td>') }).toEqual({ path, has: true });
      expect({ path, english: englishOn(page.text) }).toEqual({ path, english: null });
    }
    const audit = await admin.get(`/admin/audit?patientId=${id}`).expect(200);
    expect(audit.text).toContain('reason: Importación de cambios.csv');
    rmSync(dir, { recursive: true, force: true });
  });

  it('a refused password change explains itself in the staff language', async () => {
    const staff = await signInAs(t);
    const form = await staff.get('/account/password').expect(200);
    const refused = await staff
      .post('/account/password')
      .type('form')
      .send({ _csrf: csrfTokenOf(form.text), currentPassword: STAFF_PASSWORD, newPassword: 'corta', confirmPassword: 'corta' })
      .expect(400);
    expect(refused.text).toContain('Use al menos 15 caracteres (unas cuantas palabras sin relación entre sí funcionan bien).');
  });

  it('the admin forms and the audit filter refuse bad input in the staff language, with no English left', async () => {
    const admin = await signInAs(t, 'admin');
    const form = await admin.get('/admin/users/new').expect(200);
    const refused = await admin
      .post('/admin/users')
      .type('form')
      .send({ _csrf: csrfTokenOf(form.text), name: 'x'.repeat(101), email: 'nuevo@clinic.test', role: 'superuser' })
      .expect(400);
    expect(refused.text).toContain('Escriba un nombre de 1 a 100 caracteres.');
    expect(refused.text).toContain('Elija un rol: admin (administración) o staff (personal).');
    const audit = await admin.get('/admin/audit?from=mañana&action=NO').expect(400);
    expect(audit.text).toContain('Desde debe ser una fecha (AAAA-MM-DD).');
    expect(audit.text).toContain('Acción desconocida.');
    expect(englishOn(audit.text)).toBeNull();
  });
});
