import type { Browser, Page } from 'playwright-core';
import { MailSenderService } from '../../src/invitations/mail/mail-sender.service';
import { addPatient, seedPatients } from '../e2e/staff/onboarding-fixtures';
import { BrowserStack, collectPageErrors, screenshot, startBrowserStack } from '../support/browser';
import type { TestSmtpServer } from '../support/smtp-server';
import { createStaffUser } from '../support/staff';
import type { TestApp } from '../support/test-app';

// Globals of the callbacks that run inside the page (test/tsconfig.json has no DOM lib).
interface PageElement {
  id: string;
  textContent: string | null;
  querySelector(selector: string): PageElement | null;
}
declare const document: {
  activeElement: PageElement | null;
  documentElement: { scrollWidth: number };
  querySelectorAll(selector: string): ArrayLike<PageElement>;
};
declare const window: Record<string, unknown>;

describe('the onboarding page in a real browser', () => {
  let stack: BrowserStack;
  let t: TestApp;
  let smtp: TestSmtpServer;
  let browser: Browser;
  let base: string;
  let page: Page;
  let errors: string[];
  let rita: number;
  let provider: { id: number; name: string };
  let tag: { id: number; name: string };

  const drain = () => t.app.get(MailSenderService).drainOnce();

  beforeAll(async () => {
    stack = await startBrowserStack();
    ({ t, smtp, browser, base } = stack);
    await seedPatients(t, 140, 11);
    [provider] = await t.dataSource.query("SELECT id, name FROM providers WHERE name = 'Dr. Grace Kim'");
    [tag] = await t.dataSource.query("SELECT id, name FROM tags WHERE name = 'Telehealth'");
    rita = await addPatient(t, {
      firstName: 'Rita',
      lastName: 'Browsertest',
      email: 'rita@example.test',
      providerId: Number(provider.id),
    });
  });
  afterAll(async () => stack?.close());

  it('enables, invites and bulk-processes patients without a page reload, keyboard first, with no script or CSP errors', async () => {
    const user = await createStaffUser(t, 'staff', 'Sam Staff');
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    errors = collectPageErrors(page);

    await page.goto(`${base}/login`);
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/portal-onboarding$/);

    // Open the page from the menu.
    await page.goto(`${base}/account/password`);
    const menu = page.getByRole('navigation', { name: 'Main' });
    await menu.getByRole('button', { name: 'Pt Portal' }).hover();
    await menu.getByRole('link', { name: 'Pt Portal Onboarding Tool' }).click();
    await page.waitForURL(`${base}/portal-onboarding`);
    await page.getByRole('heading', { name: 'Patient Portal Onboarding Tool' }).waitFor();
    await screenshot(page, 'onboarding-before');
    await page.evaluate(() => (window.noReload = true));

    // Name search through the filter form: htmx swaps the results and pushes a bookmarkable URL.
    await page.getByLabel('Name', { exact: true }).fill('Browsertest');
    await page.getByLabel('Name', { exact: true }).press('Enter');
    await page.waitForURL(/q=Browsertest/);
    await expect(page.locator('#results tr.onboarding-row').count()).resolves.toBe(1);

    // The red block, with the keyboard: focus it, press Enter → gray, and the invite link takes focus.
    const red = page.getByRole('button', { name: 'Enable portal access for Rita Browsertest — status: Not enabled' });
    await red.focus();
    await page.keyboard.press('Enter');
    await page.locator(`#patient-${rita} .status-gray`).waitFor();
    const invite = page.getByRole('button', { name: 'Send Invite to rita@example.test' });
    await invite.waitFor();
    await page.waitForFunction(() => document.activeElement?.textContent?.includes('Send Invite to rita@example.test'));

    // The link: the real SMTP server receives the email and the row turns orange.
    await page.keyboard.press('Enter');
    await page.locator(`#patient-${rita} .status-orange`).waitFor();
    await expect(page.locator(`#patient-${rita} .delivery`).textContent()).resolves.toMatch(/Invite queued/);
    await drain();
    await smtp.waitFor(1);
    expect(smtp.received[0].to).toEqual(['rita@example.test']);
    expect(await page.evaluate(() => window.noReload)).toBe(true);

    // Filter by provider and tag (selects apply on change).
    await page.goto(`${base}/portal-onboarding`);
    await page.getByLabel('Primary provider').selectOption({ label: provider.name });
    await page.waitForURL(new RegExp(`provider=${provider.id}`));
    await page.getByLabel('Tag').selectOption({ label: tag.name });
    await page.waitForURL(new RegExp(`tag=${tag.id}`));
    const expected: { id: number }[] = await t.dataSource.query(
      'SELECT p.id FROM patients p JOIN patient_tags pt ON pt.patient_id = p.id WHERE p.primary_provider_id = ? AND pt.tag_id = ? ORDER BY p.last_name, p.first_name, p.id',
      [provider.id, tag.id],
    );
    await page.waitForFunction((n) => document.querySelectorAll('#results tr.onboarding-row').length === n, expected.length);
    const shown = await page
      .locator('#results tr.onboarding-row')
      .evaluateAll((rows) => rows.map((row) => Number(row.id.replace('patient-', ''))));
    expect(shown.sort((a, b) => a - b)).toEqual(expected.map((r) => Number(r.id)).sort((a, b) => a - b));
    expect(await page.locator('#result-count').textContent()).toContain(`${expected.length} patients match this filter`);

    // "Select all" on the page ticks every row (static JS, no inline handlers).
    await page.locator('#select-page').check();
    expect(await page.locator('#results input.row-select:checked').count()).toBe(expected.length);
    await page.locator('#select-page').uncheck();

    // Select all matching → Enable Portal Access: one request, the table reloads with no red rows.
    await page.locator('#select-matching').check();
    await page.getByRole('button', { name: 'Enable Portal Access', exact: true }).click();
    await page
      .locator('#bulk-area')
      .getByText(/Portal access enabled for \d+ patients?/)
      .waitFor();
    await page.waitForFunction(() => document.querySelectorAll('#results .status-red').length === 0);

    // Send Portal Invites: confirmation first, then progress until the batch is delivered.
    await page.locator('#select-matching').check();
    await page.getByRole('button', { name: 'Send Portal Invites', exact: true }).click();
    const confirm = page.locator('.bulk-confirm');
    await confirm.waitFor();
    const summary = await confirm.locator('.bulk-summary').textContent();
    expect(summary).toMatch(/\d+ invites? will be sent/);
    const before = smtp.received.length;
    await confirm.getByRole('button', { name: /^Send \d+ emails?$/ }).click();
    await page.locator('#bulk-progress').waitFor();
    await drain();
    await page.locator('#bulk-progress').getByText('Done.').waitFor({ timeout: 15_000 });
    expect(smtp.received.length).toBeGreaterThan(before);
    // Every enabled patient with an email is now invited (orange); gray remains only without an email.
    await page.waitForFunction(() =>
      Array.from(document.querySelectorAll('#results tr.onboarding-row')).every(
        (row) => !row.querySelector('.status-gray') || row.textContent!.includes('No email on file'),
      ),
    );
    expect(await page.locator('#results .status-orange').count()).toBeGreaterThan(0);
    await screenshot(page, 'onboarding-after');

    // Usable at 800px: nothing but the table's own scroller overflows.
    await page.setViewportSize({ width: 800, height: 900 });
    await page.goto(`${base}/portal-onboarding`);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(800);
    await screenshot(page, 'onboarding-800px');
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.goto(`${base}/portal-onboarding`);
    await screenshot(page, 'onboarding', { readme: true });

    expect(errors).toEqual([]);
    await context.close();
  });
});
