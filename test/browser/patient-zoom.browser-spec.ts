import type { Page } from 'playwright-core';
import { InvitationsService } from '../../src/portal-access/invitations.service';
import { MailSenderService } from '../../src/invitations/mail/mail-sender.service';
import { BrowserStack, collectPageErrors, screenshot, startBrowserStack } from '../support/browser';
import { createActivatedPatient, createPortalPatient, DEFAULT_BIRTH_DATE } from '../support/portal-patients';
import { linkFrom } from '../support/smtp-server';

// Globals of the callbacks that run inside the page (test/tsconfig.json has no DOM lib).
declare const document: {
  documentElement: { scrollWidth: number; clientWidth: number };
  querySelectorAll(selector: string): ArrayLike<ZoomElement>;
};
interface ZoomElement {
  tagName: string;
  id: string;
  textContent: string | null;
  scrollWidth: number;
  clientWidth: number;
  getBoundingClientRect(): { left: number; right: number; width: number; height: number };
}
declare const getComputedStyle: (element: ZoomElement) => { visibility: string; overflowX: string };

const PUBLIC_BASE_URL = 'https://portal.clinic.test';
const SYSTEM = { actorType: 'system', actorId: null, actorLabel: null, ip: null, userAgent: null } as const;
const PASSWORD = 'marigold ferry lantern quartz';

/**
 * WCAG 1.4.4 / 1.4.10: a 1280 px wide window zoomed to 200 % lays pages out in 640 CSS px (device scale 2, as
 * browser zoom does). Each main patient page, in English and Spanish (the longer words), must then neither scroll
 * sideways nor cut off a control: every visible field, button and link lies inside the window, and no button or
 * link hides part of its own text.
 */
describe('patient pages at 200 % zoom on a 1280 px screen', () => {
  let stack: BrowserStack;
  beforeAll(async () => {
    stack = await startBrowserStack({ PUBLIC_BASE_URL, CLINIC_NAME: 'Maple Street Clinic', CLINIC_PHONE: '(555) 010-2000' });
  });
  afterAll(async () => stack?.close());

  async function zoomedPage(language: string): Promise<{ page: Page; errors: string[]; close: () => Promise<void> }> {
    const context = await stack.browser.newContext({ viewport: { width: 640, height: 400 }, deviceScaleFactor: 2 });
    await context.addCookies([{ name: 'portal_lang', value: language, url: `${stack.base}/portal` }]);
    const page = await context.newPage();
    return { page, errors: collectPageErrors(page), close: () => context.close() };
  }

  /** What is wrong with the page's layout at this width: sideways scrolling, controls outside or clipped. */
  async function layoutProblems(page: Page): Promise<string[]> {
    return page.evaluate(() => {
      const problems: string[] = [];
      const width = document.documentElement.clientWidth;
      if (document.documentElement.scrollWidth > width)
        problems.push(`the page scrolls sideways (${document.documentElement.scrollWidth} > ${width} px)`);
      const controls = Array.from(
        document.querySelectorAll('input:not([type=hidden]), button, select, textarea, a:not(.skip-link), label'),
      );
      for (const control of controls) {
        const box = control.getBoundingClientRect();
        if (box.width === 0 || box.height === 0 || getComputedStyle(control).visibility === 'hidden') continue;
        const name = `${control.tagName.toLowerCase()}${control.id ? `#${control.id}` : ''} “${(control.textContent ?? '').trim().slice(0, 40)}”`;
        if (box.left < -0.5 || box.right > width + 0.5)
          problems.push(`${name} reaches outside the window (${box.left}–${box.right} px)`);
        // A button or link narrower than its own text cuts it off.
        if (/^(BUTTON|A)$/.test(control.tagName) && control.scrollWidth > control.clientWidth + 1 && control.clientWidth > 0)
          problems.push(`${name} clips its text (${control.scrollWidth} > ${control.clientWidth} px)`);
      }
      return problems;
    });
  }

  for (const language of ['en', 'es']) {
    it(`shows the sign-in, link, set-up, home and account pages whole, in ${language === 'en' ? 'English' : 'Spanish'}`, async () => {
      const { t, smtp } = stack;
      const { page, errors, close } = await zoomedPage(language);
      const checked: string[] = [];
      const check = async (name: string) => {
        const shot = `patient-zoom-200-${language}-${name}`;
        await screenshot(page, shot);
        checked.push(name);
        expect({ page: shot, problems: await layoutProblems(page) }).toEqual({ page: shot, problems: [] });
      };

      await page.goto(`${stack.base}/portal/login`);
      await check('sign-in');
      // The skip link waits off-screen until the keyboard reaches it; then it must be inside the window too.
      await page.locator('a.skip-link').focus();
      const skip = await page.locator('a.skip-link').boundingBox();
      expect(skip && skip.x >= 0 && skip.x + skip.width <= 640).toBe(true);
      await page.locator('#username').fill('nobody');
      await page.locator('#password').fill('not the password at all');
      await page.locator('form.stacked button[type=submit]').click();
      await page.locator('.flash, .field-error, [role=alert]').first().waitFor();
      await check('sign-in-failed');
      await page.goto(`${stack.base}/portal/forgot-password`);
      await check('forgot-password');

      // An emailed link: identity check, then the set-up form, refused once (messages under the fields), then done.
      const patient = await createPortalPatient(t, { firstName: 'Esperanza', lastName: `Zoom-${language}` });
      await t.app.get(InvitationsService).sendInvites([patient.id], SYSTEM);
      const before = smtp.received.length;
      await t.app.get(MailSenderService).drainOnce();
      const link = await linkFrom(smtp, await smtp.waitForMailTo(String(patient.email), before), PUBLIC_BASE_URL);
      await page.goto(`${stack.base}${link.path}`);
      await check('identity-check');
      await page.locator('#dateOfBirth').fill(DEFAULT_BIRTH_DATE);
      await page.locator('form.stacked button[type=submit]').click();
      await page.locator('#username').waitFor();
      await check('set-password');
      await page.locator('#username').fill(`zoom.${language}`);
      await page.locator('#password').fill('too short');
      await page.locator('#confirmPassword').fill('does not match either');
      // The browser's own checks (minlength) would stop the form; the server's messages are what this page shows.
      await page.locator('form.stacked').evaluate((form) => ((form as unknown as { noValidate: boolean }).noValidate = true));
      await page.locator('form.stacked button[type=submit]').click();
      await page.locator('#password-error').waitFor();
      await check('set-password-refused');
      await page.locator('#password').fill(PASSWORD);
      await page.locator('#confirmPassword').fill(PASSWORD);
      await page.locator('form.stacked button[type=submit]').click();
      await page.waitForURL(`${stack.base}/portal/account-ready`);
      await check('account-ready');

      // A signed-in patient: home, account, password change.
      const signedIn = await createActivatedPatient(t, PASSWORD, { prefix: `zoom${language}`, firstName: 'Maximiliana' });
      await page.goto(`${stack.base}/portal/login`);
      await page.locator('#username').fill(signedIn.username);
      await page.locator('#password').fill(PASSWORD);
      await page.locator('form.stacked button[type=submit]').click();
      await page.waitForURL(`${stack.base}/portal`);
      await check('home');
      await page.goto(`${stack.base}/portal/account`);
      await check('account');
      await page.goto(`${stack.base}/portal/account/password`);
      await check('change-password');
      await page.goto(`${stack.base}/portal/account/second-factor`);
      await check('second-factor');

      expect(checked).toHaveLength(11);
      expect(errors.filter((error) => !/^Failed to load resource: .* status of (400|401|404|410)\b/.test(error))).toEqual([]);
      await close();
    });
  }
});
