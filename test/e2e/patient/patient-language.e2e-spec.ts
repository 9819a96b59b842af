import { answerIdentityCheck, openPasswordForm } from '../../support/identity-check';
import { csrfTokenOf } from '../../support/html';
import { join } from 'node:path';
import request from 'supertest';
import type { AuditContext } from '../../../src/audit/audit-context';
import { createActivatedPatient, createPortalPatient } from '../../support/portal-patients';
import { inviteAndReceive as sendAndReceive } from '../../support/invite-mail';
import { startSmtpServer, TestSmtpServer } from '../../support/smtp-server';
import { createStaffUser } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

const BASE_URL = 'https://portal.clinic.test';
const LOGO = join(__dirname, '../../fixtures/branding/clinic-logo.png');

describe('a Spanish-speaking patient', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let staff: AuditContext;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({
      SMTP_URL: smtp.url,
      PUBLIC_BASE_URL: BASE_URL,
      CLINIC_NAME: 'Maple Street Clinic',
      CLINIC_PHONE: '(555) 010-2000',
      CLINIC_LOGO_PATH: LOGO,
    });
    const user = await createStaffUser(t);
    staff = { actorType: 'staff', actorId: user.id, actorLabel: user.email, ip: '127.0.0.1', userAgent: 'jest' };
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  async function inviteAndReceive(patientId: number) {
    const { mail, link } = await sendAndReceive(t, smtp, staff, patientId, BASE_URL);
    return { mail, link, parsed: await smtp.parse(mail) };
  }

  const spanishPatient = async (firstName: string) => {
    const patient = await createPortalPatient(t, { firstName });
    await t.dataSource.query("UPDATE patients SET preferred_language = 'es' WHERE id = ?", [patient.id]);
    return patient;
  };

  it('gets the invitation in Spanish: subject, lang, both parts, the clinic phone and the logo embedded (CID, no remote image)', async () => {
    const patient = await spanishPatient('Marisol');
    const { mail, parsed } = await inviteAndReceive(patient.id);
    expect(parsed.subject).toBe('Su invitación al Portal del Paciente de Maple Street Clinic');
    expect(parsed.html).toContain('<html lang="es" dir="ltr">');
    expect(parsed.html).toContain('Hola, Marisol:');
    expect(parsed.text).toContain('Hola, Marisol:');
    expect(parsed.text).toContain('El enlace funciona una sola vez y durante 7 días.');
    expect(parsed.text).toContain('Llame a Maple Street Clinic al (555) 010-2000.');
    expect(parsed.html).toContain('Crear mi cuenta del Portal del Paciente');
    // The logo is part of the message; no image is fetched from anywhere.
    expect(mail.raw).toContain('Content-ID: <clinic-logo>');
    expect(mail.raw).toMatch(/src=(3D)?"cid:clinic-logo"/);
    expect(String(parsed.html)).not.toMatch(/<img[^>]+src="https?:/);
    const logo = parsed.attachments.find((attachment) => attachment.cid === 'clinic-logo');
    expect(logo?.contentType).toBe('image/png');
    // No line breaks inside a paragraph: each <p> is one line of markup.
    for (const paragraph of String(parsed.html).match(/<p[\s>][\s\S]*?<\/p>/g) ?? []) expect(paragraph).not.toContain('\n');
  });

  it("opens the set-up page in the patient's language; the language switch and its cookie win over it", async () => {
    const patient = await spanishPatient('Rosa');
    const { link } = await inviteAndReceive(patient.id);
    const agent = request.agent(t.server);
    const opened = await agent.get(link.path).expect(303);
    await answerIdentityCheck(agent, 'invite');
    const page = await agent.get(opened.headers.location).expect(200);
    expect(page.text).toContain('<html lang="es" dir="ltr">');
    expect(page.text).toContain('<h1>Cree su cuenta del Portal del Paciente</h1>');
    expect(page.text).toContain('Hola, Rosa.');
    expect(page.text).toContain('<a href="/portal/language/en?next=%2Fportal%2Finvite" lang="en" hreflang="en">English</a>');

    const switched = await agent.get('/portal/language/en?next=%2Fportal%2Finvite').expect(303);
    expect(switched.headers.location).toBe('/portal/invite');
    expect(String(switched.headers['set-cookie'])).toMatch(
      /^portal_lang=en; Max-Age=31536000; Path=\/portal; Expires=[^;]+; HttpOnly; SameSite=Lax$/,
    );
    const english = await agent.get('/portal/invite').expect(200);
    expect(english.text).toContain('<h1>Set up your Patient Portal account</h1>');
  });

  it("follows the browser's Accept-Language before anyone is known, and ignores a language the portal does not offer", async () => {
    const es = await request(t.server).get('/portal/login').set('Accept-Language', 'es-MX,es;q=0.9,en;q=0.5').expect(200);
    expect(es.text).toContain('<h1>Entrar al Portal del Paciente</h1>');
    expect(es.text).toContain('<a class="skip-link" href="#main">Ir al contenido</a>');
    const fr = await request(t.server).get('/portal/login').set('Accept-Language', 'fr-FR').expect(200);
    expect(fr.text).toContain('<h1>Patient Portal sign-in</h1>');
    const chosen = await request(t.server).get('/portal/language/fr?next=/portal/login').expect(303);
    expect(chosen.headers['set-cookie']).toBeUndefined();
    const elsewhere = await request(t.server).get('/portal/language/es?next=https://evil.test/').expect(303);
    expect(elsewhere.headers.location).toBe('/portal');
  });

  it('sees portal errors and the failed sign-in message in Spanish', async () => {
    const missing = await request(t.server).get('/portal/no-such-page').set('Cookie', 'portal_lang=es');
    expect(missing.text).toContain('<html lang="es"');
    const failed = await request(t.server).get('/portal/login').set('Cookie', 'portal_lang=es').expect(200);
    expect(failed.text).toContain('¿Olvidó su contraseña?');
  });

  it('is told what is wrong with a password in Spanish: the password rules, the DTO limits and a mismatch, with no cookie set', async () => {
    const patient = await spanishPatient('Lucía');
    const { link } = await inviteAndReceive(patient.id);
    const agent = request.agent(t.server);
    const { location, csrf } = await openPasswordForm(agent, link.path);
    const submit = (form: Record<string, string>) =>
      agent
        .post(location)
        .type('form')
        .send({ _csrf: csrf, username: 'lucia.m', ...form })
        .expect(400);

    const short = await submit({ password: 'corta', confirmPassword: 'corta' });
    expect(short.text).toContain('<html lang="es" dir="ltr">');
    expect(short.text).toContain(
      '<span class="field-error" id="password-error">Use al menos 15 caracteres (unas cuantas palabras sin relación entre sí funcionan bien).</span>',
    );
    expect(short.text).not.toContain('Use at least');
    const common = await submit({ password: 'passwordpasswordpassword', confirmPassword: 'passwordpasswordpassword' });
    expect(common.text).toContain('Esa contraseña es demasiado común.');
    const mismatch = await submit({ password: 'cobre pradera linterna', confirmPassword: 'cobre pradera farol' });
    expect(mismatch.text).toContain('Las dos contraseñas no coinciden.');
    const badName = await submit({
      username: 'lu',
      password: 'cobre pradera linterna',
      confirmPassword: 'cobre pradera linterna',
    });
    expect(badName.text).toContain('<span class="field-error" id="username-error">Use de 3 a 64 caracteres.</span>');
    // Refused by the DTO (the validation pipe) before any service runs: still the patient's language.
    const long = 'x'.repeat(1025);
    const overlong = await submit({ password: long, confirmPassword: long });
    expect(overlong.text).toContain('<html lang="es" dir="ltr">');
    expect(overlong.text).toContain('Use como máximo 256 caracteres.');
    // The link still works: nothing was consumed.
    const used = await t.dataSource.query(
      'SELECT COUNT(*) AS n FROM portal_tokens WHERE patient_id = ? AND used_at IS NOT NULL',
      [patient.id],
    );
    expect(Number(used[0].n)).toBe(0);
  });

  it('the same messages stay English for an English patient, and the switch turns them into the chosen language', async () => {
    const patient = await createPortalPatient(t, { firstName: 'Laura' });
    const { link } = await inviteAndReceive(patient.id);
    const agent = request.agent(t.server);
    const { location, csrf } = await openPasswordForm(agent, link.path);
    const english = await agent
      .post(location)
      .type('form')
      .send({ _csrf: csrf, username: 'laura.e', password: 'short', confirmPassword: 'short' })
      .expect(400);
    expect(english.text).toContain('Use at least 15 characters (a few unrelated words make a good one).');
    const spanish = await agent
      .post(location)
      .set('Cookie', 'portal_lang=es')
      .type('form')
      .send({ _csrf: csrf, username: 'laura.e', password: 'short', confirmPassword: 'short' })
      .expect(400);
    expect(spanish.text).toContain('Use al menos 15 caracteres');
  });

  it('a signed-in Spanish patient changing the password is answered in Spanish (wrong current password, a reused one)', async () => {
    const password = 'cobre pradera linterna cardo';
    const patient = await createActivatedPatient(t, password, { prefix: 'es', firstName: 'Inés' });
    await t.dataSource.query("UPDATE patients SET preferred_language = 'es' WHERE id = ?", [patient.id]);
    const agent = request.agent(t.server);
    const login = await agent.get('/portal/login').expect(200);
    await agent
      .post('/portal/login')
      .type('form')
      .send({ _csrf: csrfTokenOf(login.text), username: patient.username, password })
      .expect(303);
    const form = await agent.get('/portal/account/password').expect(200);
    expect(form.text).toContain('<html lang="es" dir="ltr">');
    const change = (currentPassword: string, newPassword: string) =>
      agent
        .post('/portal/account/password')
        .type('form')
        .send({ _csrf: csrfTokenOf(form.text), currentPassword, newPassword, confirmPassword: newPassword })
        .expect(400);
    const same = await change(password, password);
    expect(same.text).toContain('Elija una contraseña distinta de la actual.');
    const wrong = await change('no es la mía para nada', 'violeta puerto tetera reloj');
    expect(wrong.text).toContain(
      'Esa no es su contraseña actual. Después de 5 intentos fallidos, la cuenta se bloquea durante 15 minutos.',
    );
    // The account page's history speaks the same language (its lines are message keys too).
    const account = await agent.get('/portal/account').expect(200);
    expect(account.text).toContain('Usted inició sesión.');
    expect(account.text).toContain('Se rechazó un cambio de contraseña (contraseña incorrecta).');
    expect(account.text).not.toContain('messages:');
  });

  it('a refused request (an expired form) is explained in the chosen language', async () => {
    const refused = await request(t.server)
      .post('/portal/forgot-password')
      .set('Cookie', 'portal_lang=es')
      .set('Accept', 'text/html')
      .type('form')
      .send({ identifier: 'nobody' })
      .expect(403);
    expect(refused.text).toContain('Este formulario caducó o no vino de este sitio.');
  });
});
