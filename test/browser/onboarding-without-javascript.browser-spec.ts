import type { BrowserContext, Page } from 'playwright-core';
import { addPatient } from '../e2e/staff/onboarding-fixtures';
import { BrowserStack, screenshot, signInThroughForm, startBrowserStack } from '../support/browser';
import { createStaffUser } from '../support/staff';

/**
 * The onboarding tool with JavaScript off (issue 13, defect 5): every button still works,
 * and after each POST the browser sits on a GET page, so Reload never re-posts the form.
 */
describe('the onboarding page without JavaScript (real browser)', () => {
  let stack: BrowserStack;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    stack = await startBrowserStack();
    const user = await createStaffUser(stack.t, 'staff', 'Nora Noscript');
    context = await stack.browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    await signInThroughForm(page, stack.base, user.email, user.password);
  });
  afterAll(async () => {
    await context?.close();
    await stack?.close();
  });

  // Without JavaScript a page is complete when it has loaded: reading its text needs no waiting.
  const posts: string[] = [];
  const outboxCount = async (ids: number[]) =>
    Number((await stack.t.dataSource.query(`SELECT COUNT(*) AS n FROM mail_outbox WHERE patient_id IN (${ids.join(',')})`))[0].n);

  it('enables and invites the ticked patients in two steps; each step lands on a GET page that a reload only re-reads', async () => {
    page.on('request', (request) => {
      if (request.method() === 'POST') posts.push(new URL(request.url()).pathname);
    });
    const ids = [
      await addPatient(stack.t, { lastName: 'Noscript', firstName: 'Ada', email: 'ada.noscript@example.test' }),
      await addPatient(stack.t, { lastName: 'Noscript', firstName: 'Ben', email: 'ben.noscript@example.test' }),
    ];
    await page.goto(`${stack.base}/portal-onboarding?q=Noscript`);
    for (const id of ids) await page.locator(`input.row-select[value="${id}"]`).check();

    await page.getByRole('button', { name: 'Enable Portal Access', exact: true }).click();
    await page.waitForURL(/\/portal-onboarding\?/);
    expect(await page.locator('#flash').textContent()).toContain('Portal access enabled for 2 patients.');
    for (const id of ids) expect(await page.locator(`input.row-select[value="${id}"]`).isChecked()).toBe(true);
    await screenshot(page, 'onboarding-no-js-enabled');

    await page.getByRole('button', { name: 'Send Portal Invites', exact: true }).click();
    await page.waitForURL(/\/portal-onboarding\/bulk\/invite\/preview\?/);
    expect(await page.locator('.bulk-summary').textContent()).toContain('2 invites will be sent.');
    await page.getByRole('button', { name: 'Send 2 emails' }).click();
    await page.waitForURL(/\/portal-onboarding\/bulk\/batches\/[0-9a-f-]{36}$/);
    expect(await page.locator('#flash').textContent()).toContain('2 invites were queued for sending.');
    expect(await outboxCount(ids)).toBe(2);

    // Reload re-reads the page (a GET): no resubmission, no second email, the message gone.
    const postsBefore = posts.length;
    await page.reload();
    expect(posts.length).toBe(postsBefore);
    expect(await outboxCount(ids)).toBe(2);
    expect(await page.locator('#flash').textContent()).not.toContain('queued for sending');
    expect(await page.locator('.progress-text').textContent()).toContain('of 2 sent');
    expect(posts).toEqual([
      '/portal-onboarding/bulk/enable',
      '/portal-onboarding/bulk/invite/preview',
      '/portal-onboarding/bulk/invite',
    ]);
  });

  it("the row's red block enables one patient and lands on the row's own page", async () => {
    const id = await addPatient(stack.t, { lastName: 'Noscriptrow', firstName: 'Cy', email: 'cy.noscript@example.test' });
    await page.goto(`${stack.base}/portal-onboarding?q=Noscriptrow`);
    await page.locator(`#patient-${id} button.status-red`).click();
    await page.waitForURL(`${stack.base}/portal-onboarding/patients/${id}/row`);
    expect(await page.locator('#flash').textContent()).toContain('Portal access enabled for Cy Noscriptrow.');
    expect(await page.locator(`#patient-${id}`).textContent()).toContain('Send Invite to cy.noscript@example.test');
  });
});
