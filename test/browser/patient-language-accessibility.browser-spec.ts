import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { AccountNoticesService } from '../../src/invitations/account-notices.service';
import { InviteEmailRenderer } from '../../src/invitations/invite-email.renderer';
import { InvitationsService } from '../../src/portal-access/invitations.service';
import { MailSenderService } from '../../src/invitations/mail/mail-sender.service';
import { BrowserStack, collectPageErrors, expectAccessible, screenshot, startBrowserStack } from '../support/browser';
import { createPortalPatient, DEFAULT_BIRTH_DATE } from '../support/portal-patients';
import { linkFrom } from '../support/smtp-server';

// Globals of the callbacks that run inside the page (test/tsconfig.json has no DOM lib).
declare const document: {
  documentElement: { scrollWidth: number; clientWidth: number };
  querySelector(selector: string): { getBoundingClientRect(): { top: number; bottom: number; right: number } } | null;
};
declare const window: { innerHeight: number; innerWidth: number };

const PUBLIC_BASE_URL = 'https://portal.clinic.test';
const LOGO = join(__dirname, '../fixtures/branding/clinic-logo.png');
const LANGUAGES = ['en', 'es'] as const;
const SYSTEM = { actorType: 'system', actorId: null, actorLabel: null, ip: null, userAgent: null } as const;

describe('patient pages and emails in both languages, in a real browser', () => {
  let stack: BrowserStack;
  beforeAll(async () => {
    stack = await startBrowserStack({
      PUBLIC_BASE_URL,
      CLINIC_NAME: 'Maple Street Clinic',
      CLINIC_PHONE: '(555) 010-2000',
      CLINIC_LOGO_PATH: LOGO,
    });
  });
  afterAll(async () => stack?.close());

  async function contextIn(language: string, width = 1024): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
    const context = await stack.browser.newContext({ viewport: { width, height: 800 } });
    await context.addCookies([{ name: 'portal_lang', value: language, url: `${stack.base}/portal` }]);
    const page = await context.newPage();
    return { context, page, errors: collectPageErrors(page) };
  }

  /** Every patient email as the patient receives its HTML: the invite and reset from the renderer, the notices from the outbox. */
  async function emailsIn(language: string): Promise<Array<{ name: string; html: string }>> {
    const { t } = stack;
    const renderer = t.app.get(InviteEmailRenderer);
    const patient = await createPortalPatient(t, { firstName: 'Guadalupe', lastName: `Correo-${language}` });
    await t.dataSource.query('UPDATE patients SET preferred_language = ? WHERE id = ?', [language, patient.id]);
    const notices = t.app.get(AccountNoticesService);
    const report = `${PUBLIC_BASE_URL}/portal/email-change/report/${'R'.repeat(43)}`;
    const models = {
      email_changed: { firstName: 'Guadalupe', maskedNewEmail: 'g•••@example.test', reportUrl: report },
      email_change_requested: { firstName: 'Guadalupe', maskedNewEmail: 'g•••@example.test', reportUrl: report },
      email_verify: { firstName: 'Guadalupe', confirmUrl: report.replace('report', 'confirm'), validForHours: '24' },
      username_changed: { firstName: 'Guadalupe', newUsername: 'guadalupe.c' },
    };
    for (const [notice, model] of Object.entries(models))
      await notices.queue(t.dataSource.manager, notice as keyof typeof models, 'g@example.test', patient.id, model);
    const queued: Array<{ kind: string; html_body: string }> = await t.dataSource.query(
      'SELECT kind, html_body FROM mail_outbox WHERE patient_id = ? ORDER BY id',
      [patient.id],
    );
    return [
      { name: 'invite', html: renderer.render('invite', 'Guadalupe', 'T'.repeat(43), language).html },
      { name: 'reset', html: renderer.render('reset', 'Guadalupe', 'T'.repeat(43), language).html },
      ...queued.map((row) => ({ name: row.kind, html: row.html_body })),
    ];
  }

  const logoDataUri = `data:image/png;base64,${readFileSync(LOGO).toString('base64')}`;

  it('shows every patient email without horizontal scrolling at 390 and 1024 px, the button in the first screen, in English and Spanish', async () => {
    for (const language of LANGUAGES) {
      const emails = await emailsIn(language);
      expect(emails.map((email) => email.name)).toHaveLength(6);
      for (const width of [390, 1024]) {
        const { context, page } = await contextIn(language, width);
        await page.setViewportSize({ width, height: width === 390 ? 844 : 768 });
        for (const email of emails) {
          // What a mail client does with the CID reference: shows the attached logo.
          await page.setContent(email.html.replace('cid:clinic-logo', logoDataUri));
          const layout = await page.evaluate(() => {
            const button = document.querySelector('a.email-button')!.getBoundingClientRect();
            return {
              scrollWidth: document.documentElement.scrollWidth,
              clientWidth: document.documentElement.clientWidth,
              buttonBottom: button.bottom,
              buttonRight: button.right,
              screenHeight: window.innerHeight,
            };
          });
          const where = `${email.name} (${language}, ${width} px)`;
          expect({ where, scrolls: layout.scrollWidth > layout.clientWidth }).toEqual({ where, scrolls: false });
          expect({ where, buttonInFirstScreen: layout.buttonBottom <= layout.screenHeight }).toEqual({
            where,
            buttonInFirstScreen: true,
          });
          expect({ where, buttonInside: layout.buttonRight <= layout.clientWidth }).toEqual({ where, buttonInside: true });
          await expectAccessible(page, `email ${where}`);
          if (email.name === 'invite' && width === 390)
            await screenshot(page, `email-invite-${language}-390`, { readme: language === 'es' });
        }
        await context.close();
      }
    }
  });

  it('passes axe-core (WCAG 2.0/2.1/2.2 A and AA) on every patient page in English and Spanish, without horizontal scrolling at 320 px', async () => {
    const { t, smtp } = stack;
    for (const language of LANGUAGES) {
      const patient = await createPortalPatient(t, { firstName: 'Esperanza', lastName: `Paginas-${language}` });
      await t.app.get(InvitationsService).sendInvites([patient.id], SYSTEM);
      const before = smtp.received.length;
      await t.app.get(MailSenderService).drainOnce();
      const link = await linkFrom(smtp, await smtp.waitForMailTo(String(patient.email), before), PUBLIC_BASE_URL);

      for (const width of [1024, 320]) {
        const { context, page, errors } = await contextIn(language, width);
        const check = async (name: string) => {
          const where = `${name} (${language}, ${width} px)`;
          await expectAccessible(page, where);
          const scrolls = await page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);
          expect({ where, scrolls }).toEqual({ where, scrolls: false });
        };
        for (const path of ['/portal/login', '/portal/forgot-password', '/portal/forgot-password/sent', '/portal/no-such-page'])
          await page.goto(`${stack.base}${path}`).then(() => check(path));
        await page.goto(`${stack.base}/portal/invite/${'A'.repeat(43)}`);
        await check('link no longer valid');
        await page.goto(`${stack.base}${link.path}`);
        await check('confirm it is you');
        await page.locator('#dateOfBirth').fill(DEFAULT_BIRTH_DATE);
        await page.locator('form.stacked button[type=submit]').click();
        await page.locator('#username').waitFor();
        await check('set up your account');
        if (width === 320) {
          await screenshot(page, `patient-set-password-${language}`, { readme: language === 'es' });
          const password = 'marigold ferry lantern quartz';
          await page.locator('#username').fill(`esperanza.${language}`);
          await page.locator('#password').fill(password);
          await page.locator('#confirmPassword').fill(password);
          await page.locator('form.stacked button[type=submit]').click();
          await page.waitForURL(`${stack.base}/portal/account-ready`);
          await check('account ready');
          await page.goto(`${stack.base}/portal/login`);
          await page.locator('#username').fill(`esperanza.${language}`);
          await page.locator('#password').fill(password);
          await page.locator('form.stacked button[type=submit]').click();
          await page.waitForURL(`${stack.base}/portal`);
          await check('home');
        } else {
          // A wrong password shows the error state of the sign-in page.
          await page.goto(`${stack.base}/portal/login`);
          await page.locator('#username').fill('nobody');
          await page.locator('#password').fill('not the password at all');
          await page.locator('form.stacked button[type=submit]').click();
          await check('sign-in failed');
        }
        // The error pages answer 404/410/401 on purpose; anything else the console reports fails the test.
        expect(errors.filter((error) => !/^Failed to load resource: .* status of (401|404|410)\b/.test(error))).toEqual([]);
        await context.close();
      }
    }
  });
});
