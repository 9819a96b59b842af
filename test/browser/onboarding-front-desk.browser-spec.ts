import type { Browser, BrowserContext, Page } from 'playwright-core';
import { MailSenderService } from '../../src/invitations/mail/mail-sender.service';
import { addPatient, seedPatients } from '../e2e/staff/onboarding-fixtures';
import { BrowserStack, collectPageErrors, screenshot, signInThroughForm, startBrowserStack } from '../support/browser';
import type { TestSmtpServer } from '../support/smtp-server';
import { createStaffUser } from '../support/staff';
import type { TestApp } from '../support/test-app';

// Globals of the callbacks that run inside the page (test/tsconfig.json has no DOM lib).
interface PageElement {
  id: string;
  scrollLeft: number;
  scrollWidth: number;
  clientWidth: number;
  textContent: string | null;
  getBoundingClientRect(): { top: number; bottom: number; left: number; right: number };
  querySelector(selector: string): PageElement | null;
}
declare const document: {
  documentElement: { scrollWidth: number };
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
};
declare const window: Record<string, unknown> & { innerHeight: number };

/** True once the element is inside the visible part of the window (htmx scrolls it there after settling); false after 5 s. */
const inView = (page: Page, selector: string) =>
  page
    .waitForFunction(
      (s) => {
        const element = document.querySelector(s);
        if (!element) return false;
        const box = element.getBoundingClientRect();
        return box.top >= 0 && box.bottom <= window.innerHeight;
      },
      selector,
      { timeout: 5000 },
    )
    .then(
      () => true,
      () => false,
    );

/** What the front desk hits (issue 13): the seed's two-step bulk flow, messages where the eye is, live rows, layout, sign-in return. */
describe('the onboarding page at the front desk (real browser)', () => {
  let stack: BrowserStack;
  let t: TestApp;
  let smtp: TestSmtpServer;
  let browser: Browser;
  let base: string;
  let user: { email: string; password: string };
  let context: BrowserContext;
  let page: Page;
  let errors: string[];

  const drain = () => t.app.get(MailSenderService).drainOnce();
  const rowsShown = () => page.locator('#results tr.onboarding-row').count();
  const addGroup = async (lastName: string, n: number) => {
    const ids: number[] = [];
    for (let i = 0; i < n; i++)
      ids.push(await addPatient(t, { firstName: `P${i}`, lastName, email: `${lastName.toLowerCase()}${i}@example.test` }));
    return ids;
  };

  beforeAll(async () => {
    stack = await startBrowserStack();
    ({ t, smtp, browser, base } = stack);
    await seedPatients(t, 60, 5);
    user = await createStaffUser(t, 'staff', 'Fran Frontdesk');
  });
  afterAll(async () => stack?.close());
  beforeEach(async () => {
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    errors = collectPageErrors(page);
    await signInThroughForm(page, base, user.email, user.password);
  });
  afterEach(async () => {
    expect(errors).toEqual([]);
    await context.close();
  });

  it('ticked rows: Enable, then Send Portal Invites acts on the same patients although "Access enabled: No" no longer lists them', async () => {
    const ids = await addGroup('Ticktwo', 3);
    await page.goto(`${base}/portal-onboarding?q=Ticktwo&access=no`);
    await page.evaluate(() => (window.noReload = true));
    expect(await rowsShown()).toBe(3);
    await page.getByLabel('Select P0 Ticktwo').check();
    await page.getByLabel('Select P2 Ticktwo').check();

    await page.getByRole('button', { name: 'Enable Portal Access', exact: true }).click();
    const area = page.locator('#bulk-area');
    await area
      .getByText('Portal access enabled for 2 patients. The same 2 patients stay selected for Send Portal Invites.')
      .waitFor();
    expect(await area.getAttribute('aria-live')).toBe('polite');
    expect(await inView(page, '#bulk-area .bulk-box')).toBe(true);
    // The list reloads (only P1 is still "not enabled"); the two enabled patients stay selected.
    await page.waitForFunction(() => document.querySelectorAll('#results tr.onboarding-row').length === 1);
    await page.locator('#selected-count').getByText('2 selected (not in this list)').waitFor();
    await screenshot(page, 'onboarding-kept-selection', { readme: true });

    await page.getByRole('button', { name: 'Send Portal Invites', exact: true }).click();
    const confirm = page.locator('#bulk-area .bulk-confirm');
    await confirm.waitFor();
    expect(await confirm.locator('.bulk-summary').textContent()).toBe('2 invites will be sent.');
    expect(await inView(page, '#bulk-area .bulk-confirm')).toBe(true);
    await confirm.getByRole('button', { name: 'Send 2 emails' }).click();

    // The progress box is in view and both lines say the same: 2 queued, then 2 of 2 sent.
    const progress = page.locator('#bulk-progress');
    await progress.waitFor();
    expect(await inView(page, '#bulk-progress')).toBe(true);
    expect(await progress.locator('.bulk-summary').textContent()).toBe('2 invites were queued for sending.');
    expect(await progress.locator('.progress-text').textContent()).toMatch(/^0 of 2 sent, 2 waiting\./);
    await drain();
    await progress.getByText('Done.').waitFor({ timeout: 15_000 });
    await smtp.waitFor(2);
    expect(smtp.received.map((mail) => mail.to[0]).sort()).toEqual(['ticktwo0@example.test', 'ticktwo2@example.test']);
    expect(await page.evaluate(() => window.noReload)).toBe(true);
    expect(ids).toHaveLength(3);
  });

  it('"Select all matching" with "Access enabled: No": Enable, then Send Portal Invites invites everyone who matched before', async () => {
    await addGroup('Allmatch', 4);
    const before = smtp.received.length;
    await page.goto(`${base}/portal-onboarding`);
    // Enter applies the name (otherwise its change event fires when focus leaves it, i.e. at the next click).
    await page.getByLabel('Name', { exact: true }).fill('Allmatch');
    await page.getByLabel('Name', { exact: true }).press('Enter');
    await page.waitForURL(/q=Allmatch/);
    await page.getByLabel('Access enabled').selectOption('no');
    await page.waitForURL(/q=Allmatch.*access=no/);
    await page.waitForFunction(() => document.querySelectorAll('#results tr.onboarding-row').length === 4);

    await page.locator('#select-matching').check();
    await page.getByRole('button', { name: 'Enable Portal Access', exact: true }).click();
    await page.locator('#bulk-area').getByText('Portal access enabled for 4 patients.', { exact: false }).waitFor();
    // Nobody is "not enabled" any more, yet the 4 stay selected as they were before the enable.
    await page.waitForFunction(() => document.querySelectorAll('#results tr.onboarding-row').length === 0);
    await page.getByText('All 4 patients that matched this filter before access was enabled').waitFor();
    expect(await page.locator('#select-matching').isChecked()).toBe(true);

    await page.getByRole('button', { name: 'Send Portal Invites', exact: true }).click();
    const confirm = page.locator('#bulk-area .bulk-confirm');
    await confirm.waitFor();
    expect(await confirm.locator('.bulk-summary').textContent()).toBe('4 invites will be sent.');
    await confirm.getByRole('button', { name: 'Send 4 emails' }).click();
    await page.locator('#bulk-progress').waitFor();
    await drain();
    await page.locator('#bulk-progress').getByText('Done.').waitFor({ timeout: 15_000 });
    await smtp.waitFor(before + 4);
    expect(
      smtp.received
        .slice(before)
        .map((mail) => mail.to[0])
        .sort(),
    ).toEqual(['allmatch0@example.test', 'allmatch1@example.test', 'allmatch2@example.test', 'allmatch3@example.test']);
  });

  it('shows "select at least one patient" next to the bulk buttons, announced, not at the top of the page', async () => {
    await page.goto(`${base}/portal-onboarding`);
    await page.getByRole('button', { name: 'Send Portal Invites', exact: true }).scrollIntoViewIfNeeded();
    await page.getByRole('button', { name: 'Send Portal Invites', exact: true }).click();
    const message = page.locator('#bulk-area [role=alert]');
    await message.getByText('Select at least one patient').waitFor();
    expect(await inView(page, '#bulk-area [role=alert]')).toBe(true);
    expect(await page.locator('#flash').textContent()).not.toContain('Select at least one patient');
    // (collectPageErrors: the 400 itself is logged by Chromium as a failed resource; ignore that one line.)
    errors.splice(0, errors.length, ...errors.filter((e) => !e.includes('400')));
  });

  it('a row\'s "Invite queued" turns to "sent" without a reload, by background polls that do not count as activity', async () => {
    const id = await addPatient(t, { firstName: 'Polly', lastName: 'Rowpoll', email: 'polly@example.test', status: 'gray' });
    const polls: (string | undefined)[] = [];
    page.on('request', (request) => {
      if (request.url().includes(`/patients/${id}/row`)) polls.push(request.headers()['x-background-poll']);
    });
    await page.goto(`${base}/portal-onboarding?q=Rowpoll`);
    await page.evaluate(() => (window.noReload = true));
    await page.getByLabel('Select Polly Rowpoll').check();
    await page.getByRole('button', { name: 'Send Invite to polly@example.test' }).click();
    await page
      .locator(`#patient-${id} .delivery`)
      .getByText(/Invite queued/)
      .waitFor();
    await drain();
    await page
      .locator(`#patient-${id} .delivery`)
      .getByText(/Invite sent/)
      .waitFor({ timeout: 10_000 });
    expect(polls.length).toBeGreaterThan(0);
    expect(polls.every((header) => header === '1')).toBe(true);
    // The tick survives the row's refresh, and nothing reloaded the page.
    expect(await page.getByLabel('Select Polly Rowpoll').isChecked()).toBe(true);
    expect(await page.evaluate(() => window.noReload)).toBe(true);
  });

  it('fits the Action column at 1280 px, keeps the name in view when enabling at 800 px, and fits 400 px', async () => {
    await addPatient(t, {
      firstName: 'Maximilian-Alexander',
      lastName: 'Longaddress-Wolfeschlegel',
      email: 'maximilian.alexander.longaddress@very-long-clinic-domain.example.test',
      status: 'gray',
    });
    const narrow = await addPatient(t, { firstName: 'Nora', lastName: 'Narrowview', email: 'nora.narrowview@example.test' });
    const clipped = () =>
      page.evaluate(() => {
        const scroller = document.querySelector('.table-scroll')!;
        return scroller.scrollWidth > scroller.clientWidth;
      });
    // The whole list (invited, active and enabled rows, long names and addresses): nothing hidden to the right.
    await page.goto(`${base}/portal-onboarding?size=100`);
    expect(await page.locator('#results .invite-link').count()).toBeGreaterThan(5);
    expect(await clipped()).toBe(false);
    await screenshot(page, 'front-desk-1280');

    await page.setViewportSize({ width: 800, height: 900 });
    await page.goto(`${base}/portal-onboarding?q=Narrowview`);
    await page.getByRole('button', { name: 'Enable portal access for Nora Narrowview — status: Not enabled' }).click();
    await page.locator(`#patient-${narrow} .status-gray`).waitFor();
    await page.waitForFunction(() => document.querySelector('.table-scroll')!.scrollLeft === 0);
    const nameVisible = await page.evaluate((rowId) => {
      const name = document.querySelector(`#patient-${rowId} .col-name`)!.getBoundingClientRect();
      const scroller = document.querySelector('.table-scroll')!.getBoundingClientRect();
      return name.left >= scroller.left && name.right <= scroller.right;
    }, narrow);
    expect(nameVisible).toBe(true);
    await screenshot(page, 'front-desk-800');

    await page.setViewportSize({ width: 400, height: 900 });
    await page.goto(`${base}/portal-onboarding`);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(400);
    await screenshot(page, 'front-desk-400');
  });

  it('finds a caller by MRN, and says where in the list we are (First, Next, Last, Go to page)', async () => {
    await page.goto(`${base}/portal-onboarding?size=25`);
    const [{ external_id: mrn, id }] = await t.dataSource.query(
      'SELECT id, external_id FROM patients WHERE external_id IS NOT NULL ORDER BY id LIMIT 1',
    );
    await page.getByLabel('Name', { exact: true }).fill(mrn);
    await page.getByLabel('Name', { exact: true }).press('Enter');
    await page.waitForURL(new RegExp(`q=${mrn}`));
    await page.waitForFunction(() => document.querySelectorAll('#results tr.onboarding-row').length === 1);
    expect(await page.locator(`#patient-${id} .col-mrn`).textContent()).toBe(mrn);

    await page.goto(`${base}/portal-onboarding?size=25`);
    await page.evaluate(() => (window.noReload = true));
    const position = page.locator('.page-position');
    const pages = Number(/of (\d+)/.exec((await position.textContent())!)![1]);
    expect(await position.textContent()).toBe(`Page 1 of ${pages}`);
    await page.getByRole('link', { name: /^Next 25/ }).click();
    await position.getByText(`Page 2 of ${pages}`).waitFor();
    await page.waitForURL(/page=2/);
    await page.getByRole('link', { name: 'Last »' }).click();
    await position.getByText(`Page ${pages} of ${pages}`).waitFor();
    await page.getByLabel('Go to page').fill('2');
    await page.getByRole('button', { name: 'Go', exact: true }).click();
    await position.getByText(`Page 2 of ${pages}`).waitFor();
    await page.getByRole('link', { name: '« First' }).click();
    await position.getByText(`Page 1 of ${pages}`).waitFor();
    expect(await page.evaluate(() => window.noReload)).toBe(true);
    await screenshot(page, 'front-desk-pager-1280');
    await page.setViewportSize({ width: 400, height: 900 });
    await page.goto(`${base}/portal-onboarding?size=25&page=2`);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(400);
    await screenshot(page, 'front-desk-pager-400');
  });

  it('opens a stale bookmark: unknown parameters ignored, a bad value told next to its filter, the rest applied; an inverted range says why nothing matches', async () => {
    const ids = await addGroup('Bookmarkia', 3);
    const response = await page.goto(`${base}/portal-onboarding?q=Bookmarkia&foo=bar&utm_source=mail&apptAfter=soon`);
    expect(response?.status()).toBe(200);
    const problem = page.locator('#problem-apptAfter');
    await problem.getByText('Next appointment after: not a date (write it as MM/DD/YYYY).').waitFor();
    // Next to its own box (under it, in the same filter), not at the top of the page.
    const box = (await page.locator('#filter-appt-after').boundingBox())!;
    const said = (await problem.boundingBox())!;
    expect(said.y).toBeGreaterThanOrEqual(box.y);
    expect(said.y - (box.y + box.height)).toBeLessThan(60);
    expect(Math.abs(said.x - box.x)).toBeLessThan(60);
    expect(await page.locator('#filter-appt-after').getAttribute('aria-describedby')).toContain('problem-apptAfter');
    // The search still applies: exactly the group, and no word about the unknown parameters.
    expect(await rowsShown()).toBe(ids.length);
    expect(await page.getByText(/foo|utm_source|should not exist/).count()).toBe(0);
    await screenshot(page, 'front-desk-stale-bookmark-1280');

    // A range whose "after" is not before its "before": the list says why it is empty.
    await page.locator('#filter-appt-after').fill('2031-12-10');
    await page.locator('#filter-appt-before').fill('2031-12-01');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page
      .getByText(/No patient can match: the next appointment would have to be after 12\/10\/2031 and before 12\/01\/2031/)
      .waitFor();
    expect(await rowsShown()).toBe(0);
    expect(await problem.textContent()).toBe('');
  });

  it('after an idle timeout, signing in again returns to the same filtered list', async () => {
    await page.goto(`${base}/portal-onboarding?status=red&size=25`);
    // The session sat idle past the timeout: its activity mark is set back an hour.
    const rows: { sid: string; sess: string }[] = await t.dataSource.query('SELECT sid, sess FROM staff_sessions');
    for (const row of rows) {
      const sess = JSON.parse(row.sess);
      if (!sess.passport) continue;
      sess.lastActivityAt = Date.now() - 3_600_000;
      await t.dataSource.query('UPDATE staff_sessions SET sess = ? WHERE sid = ?', [JSON.stringify(sess), row.sid]);
    }
    // The next htmx request (a filter change) is sent to sign-in, with the page's query in `next`.
    await page.getByLabel('Has username').selectOption('no');
    await page.waitForURL(/\/login\?next=/);
    expect(decodeURIComponent(new URL(page.url()).searchParams.get('next')!)).toBe('/portal-onboarding?status=red&size=25');
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/portal-onboarding?status=red&size=25`);
    expect(await page.locator('#filter-status').inputValue()).toBe('red');
    // (the 401 that started it is logged by Chromium as a failed resource)
    errors.splice(0, errors.length, ...errors.filter((e) => !e.includes('401')));
  });
});
