import request from 'supertest';
import { seedDemoData } from '../../../src/demo/demo-seeder';
import { csrfTokenOf } from '../../support/html';
import { signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';
import { STAFF_PASSWORD } from '../../support/staff';

/** Text i18next prints when a key is missing: the key path itself (e.g. "admin.users.title"; audit keys are left out, the
 * audit table names actions such as "audit.viewed" on purpose, and its headings are checked by name below). */
const KEY_PATH =
  /[>"]\s*(auth|account|admin|setup|totpSetup|onboarding|patient|portalTab|representatives|reach|row|status|inviteProblem|bulk|letters|activity|notices|emailChanges|imports|activationCode|saved|flash)\.[a-z][A-Za-z]*(\.[A-Za-z_]+)*(_one|_other)?\s*[<"]/;
/** A page's text without its drop-downs, whose options name audit actions ("audit.viewed") on purpose. */
const withoutSelects = (html: string) => html.replace(/<select[\s\S]*?<\/select>/g, '');

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
});
