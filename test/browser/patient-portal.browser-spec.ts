import { InvitationsService } from '../../src/portal-access/invitations.service';
import { MailSenderService } from '../../src/invitations/mail/mail-sender.service';
import { BrowserStack, collectPageErrors, screenshot, startBrowserStack } from '../support/browser';
import { confirmDateOfBirthInBrowser } from '../support/identity-check';
import { createPortalPatient, portalAccountOf } from '../support/portal-patients';
import { linkFrom } from '../support/smtp-server';

const PUBLIC_BASE_URL = 'https://portal.clinic.test';

describe('a patient in a real browser', () => {
  let stack: BrowserStack;
  beforeAll(async () => {
    stack = await startBrowserStack({ PUBLIC_BASE_URL });
  });
  afterAll(async () => stack?.close());

  it('follows the emailed link, chooses a username and password, signs in and is welcomed, with no script or CSP errors', async () => {
    const { t, smtp, browser, base } = stack;
    const patient = await createPortalPatient(t, { firstName: 'Imogen', lastName: 'Vasquez-Tran' });
    await t.app
      .get(InvitationsService)
      .sendInvites([patient.id], { actorType: 'system', actorId: null, actorLabel: null, ip: null, userAgent: null });
    await t.app.get(MailSenderService).drainOnce();
    await smtp.waitFor(1);
    const link = await linkFrom(smtp, smtp.received[0], PUBLIC_BASE_URL);

    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${base}${link.path}`);
    // The token leaves the address bar at once.
    expect(page.url()).toBe(`${base}/portal/invite`);
    await screenshot(page, 'patient-identity-check');
    await confirmDateOfBirthInBrowser(page);
    await page.getByRole('heading', { name: 'Set up your Patient Portal account' }).waitFor();
    expect(page.url()).toBe(`${base}/portal/invite`);
    await screenshot(page, 'patient-set-password');

    await page.getByLabel('Username').fill('imogen.vt');
    await page.getByLabel('Password', { exact: true }).fill('short');
    await page.getByLabel('Password again').fill('short');
    // The browser's own minlength check stops a too-short password before it is sent.
    await page.getByRole('button', { name: 'Create my account' }).click();
    expect(page.url()).toBe(`${base}/portal/invite`);

    const password = 'juniper tugboat evening sonata';
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByLabel('Password again').fill(password);
    await page.getByRole('button', { name: 'Create my account' }).click();
    await expect(page.getByRole('heading', { name: 'Your account is ready' }).isVisible()).resolves.toBe(true);
    await screenshot(page, 'patient-account-ready');

    await page.getByRole('link', { name: 'Go to Patient Portal sign-in' }).click();
    await page.getByLabel('Username').fill('imogen.vt');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/portal`);
    await expect(page.getByRole('heading', { name: 'Welcome, Imogen' }).isVisible()).resolves.toBe(true);
    await screenshot(page, 'patient-home');
    expect((await portalAccountOf(t, patient.id)).firstLoginAt).not.toBeNull();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${base}/portal/login`);
    await page.goto(`${base}${link.path}`);
    await expect(page.getByRole('heading', { name: 'This link is no longer valid' }).isVisible()).resolves.toBe(true);
    await screenshot(page, 'patient-link-invalid');
    expect(errors.filter((error) => !/status of 410/.test(error))).toEqual([]);
    await context.close();
  });
});
