import { ClinicClock } from '../../src/common/time/clinic-time';
import { MailSenderService } from '../../src/invitations/mail/mail-sender.service';
import { BrowserStack, collectPageErrors, screenshot, signInThroughForm, startBrowserStack } from '../support/browser';
import { createPortalPatient } from '../support/portal-patients';
import { linkFrom } from '../support/smtp-server';
import { createStaffUser } from '../support/staff';

const PUBLIC_BASE_URL = 'https://portal.clinic.test';

describe('a guardian of a 10-year-old, from the front desk to their own portal account, in a real browser', () => {
  let stack: BrowserStack;
  beforeAll(async () => {
    stack = await startBrowserStack({ PUBLIC_BASE_URL });
  });
  afterAll(async () => stack?.close());

  it('staff add the guardian and invite them; the guardian sets up the account from the email, signs in and sees the child', async () => {
    const { t, smtp, browser, base } = stack;
    const today = t.app.get(ClinicClock).dayOf(new Date());
    const tenYearsAgo = `${Number(today.slice(0, 4)) - 10}${today.slice(4)}`.replace('-02-29', '-02-28');
    const child = await createPortalPatient(t, {
      firstName: 'Milo',
      lastName: 'Ferreira',
      dateOfBirth: tenYearsAgo,
      email: null,
    });
    const staff = await createStaffUser(t, 'staff', 'Fran Frontdesk');

    const desk = await browser.newContext();
    const page = await desk.newPage();
    const errors = collectPageErrors(page);
    await signInThroughForm(page, base, staff.email, staff.password, `/patients/${child.id}?tab=portal`);
    // Under 13: no account of the child's own; the tab opens the guardian form with the relationship chosen.
    await page.getByText('Under 13: no portal account of their own').first().waitFor();
    await page.locator('#rep-new-name').fill('Lucia Ferreira');
    expect(await page.locator('#rep-new-relationship').inputValue()).toBe('parent_or_guardian');
    await page.locator('#rep-new-email').fill('lucia.ferreira@family.test');
    await page.locator('#rep-new-basis').fill('Birth certificate seen at the desk; consent form scanned to chart');
    await page.locator('#rep-new-reason').fill('Mother asked for portal access for her son');
    await page.getByLabel('I checked the authorisation').check();
    await page.getByRole('button', { name: 'Add the representative' }).click();
    await page.getByText('The representative was added.').waitFor();
    await page.getByRole('button', { name: 'Send Invite to lucia.ferreira@family.test' }).click();
    await page.getByText('An invite email is on its way to the representative’s own address.').waitFor();
    await screenshot(page, 'representative-tab', { readme: true });

    await t.app.get(MailSenderService).drainOnce();
    await smtp.waitFor(1);
    expect(smtp.received[0].to).toEqual(['lucia.ferreira@family.test']);
    const link = await linkFrom(smtp, smtp.received[0], PUBLIC_BASE_URL);

    const home = await browser.newContext();
    const guardian = await home.newPage();
    const guardianErrors = collectPageErrors(guardian);
    await guardian.goto(`${base}${link.path}`);
    expect(guardian.url()).toBe(`${base}/portal/invite`);
    // The identity check: the child's date of birth and the guardian's own last name.
    await guardian.getByRole('heading', { name: 'Confirm it is you' }).waitFor();
    await guardian.locator('#dateOfBirth').fill(tenYearsAgo);
    await guardian.locator('#representativeLastName').fill('Ferreira');
    await guardian.locator('form.stacked button[type=submit]').click();
    await guardian.getByLabel('Username').fill('lucia.f');
    const password = 'saffron meadow kettle drumbeat';
    await guardian.getByLabel('Password', { exact: true }).fill(password);
    await guardian.getByLabel('Password again').fill(password);
    await guardian.getByRole('button', { name: 'Create my account' }).click();
    await guardian.getByRole('heading', { name: 'Your account is ready' }).waitFor();
    await guardian.getByRole('link', { name: 'Go to Patient Portal sign-in' }).click();
    await guardian.getByLabel('Username').fill('lucia.f');
    await guardian.getByLabel('Password').fill(password);
    await guardian.getByRole('button', { name: 'Sign in' }).click();
    await guardian.waitForURL(`${base}/portal`);
    await guardian.getByRole('heading', { name: 'Welcome, Lucia Ferreira' }).waitFor();
    await guardian.getByText('Milo Ferreira').waitFor();
    expect(await guardian.locator('.represented-patients').textContent()).toContain('Parent or legal guardian, no end date');
    await screenshot(guardian, 'representative-home', { readme: true });

    await page.reload();
    await page.getByRole('img', { name: 'Representative status: Active' }).waitFor();
    expect(errors).toEqual([]);
    expect(guardianErrors).toEqual([]);
    await desk.close();
    await home.close();
  });
});
