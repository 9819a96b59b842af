import { addPatient } from '../e2e/staff/onboarding-fixtures';
import { BrowserStack, collectPageErrors, screenshot, signInThroughForm, startBrowserStack } from '../support/browser';
import { rebuildActivationFunnel } from '../support/portal-patients';
import { createStaffUser } from '../support/staff';

describe('the activation report in a real browser', () => {
  let stack: BrowserStack;

  beforeAll(async () => {
    stack = await startBrowserStack({ REMINDER_INTERVAL_SECONDS: '0' });
    const { t } = stack;
    await t.dataSource.query("INSERT INTO providers (name, active) VALUES ('Dr. Report Browser', 1)");
    const [{ id: providerId }] = await t.dataSource.query("SELECT id FROM providers WHERE name = 'Dr. Report Browser'");
    // Two invited (one opened the link), one enabled and never invited.
    for (const [firstName, opened] of [
      ['Opal', true],
      ['Otto', false],
    ] as const) {
      const id = await addPatient(t, { firstName, lastName: 'Zzfunnel', status: 'orange', providerId: Number(providerId) });
      const hash = `browser-${firstName}`.padEnd(64, '0');
      await t.dataSource.query(
        "INSERT INTO portal_tokens (patient_id, purpose, token_hash, sent_to, created_at, expires_at, opened_at, issued_by) VALUES (?, 'invite', ?, 'x@example.test', '2026-11-02 10:00:00', '2027-01-01 00:00:00', ?, 'staff')",
        [id, hash, opened ? '2026-11-03 10:00:00' : null],
      );
      const [{ id: tokenId }] = await t.dataSource.query('SELECT id FROM portal_tokens WHERE token_hash = ?', [hash]);
      await t.dataSource.query(
        "INSERT INTO mail_outbox (patient_id, portal_token_id, kind, to_address, subject, status, attempts, next_attempt_at, created_at, sent_at) VALUES (?, ?, 'portal_invite', 'x@example.test', 'Invite', 'sent', 1, '2026-11-02 10:00:00', '2026-11-02 10:00:00', '2026-11-02 10:00:05')",
        [id, tokenId],
      );
    }
    await addPatient(t, { firstName: 'Gina', lastName: 'Zzfunnel', status: 'gray', providerId: Number(providerId) });
    // Written by hand, past the app's writers that keep the report's summary: backfill it as the migration does.
    await rebuildActivationFunnel(t);
  });
  afterAll(async () => stack?.close());

  it('opens the report from the menu, clicks a number and lands on exactly those patients', async () => {
    const { t, browser, base } = stack;
    const user = await createStaffUser(t, 'staff', 'Rhea Report');
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await signInThroughForm(page, base, user.email, user.password);

    const menu = page.getByRole('navigation', { name: 'Main' });
    await menu.getByRole('button', { name: 'Pt Portal' }).hover();
    await menu.getByRole('link', { name: 'Activation report' }).click();
    await page.waitForURL(`${base}/reports/activation`);
    await page.getByRole('heading', { name: 'Activation report' }).waitFor();
    // The chart is server-rendered SVG with an accessible name that says the numbers.
    await page.getByRole('img', { name: /Activation funnel: Access enabled 3 \(100 %\), Invited 2 \(67 %\)/ }).waitFor();
    await screenshot(page, 'activation-report');

    const providerRow = page.locator('tr[data-group="Dr. Report Browser"]');
    await providerRow.locator('a[data-stage="opened"]').click();
    await page.waitForURL(/\/portal-onboarding\?funnel=opened&provider=\d+$/);
    await page.locator('#result-count').getByText('1 patient matches this filter').waitFor();
    const names = await page.locator('tbody .col-name').allTextContents();
    expect(names.map((name) => name.trim())).toEqual(['Zzfunnel, Opal']);

    await page.goBack();
    await page.locator('tr[data-group="Dr. Report Browser"] a[data-stage="invited"]').click();
    await page.waitForURL(/\/portal-onboarding\?funnel=invited&provider=\d+$/);
    expect((await page.locator('tbody .col-name').allTextContents()).map((name) => name.trim()).sort()).toEqual([
      'Zzfunnel, Opal',
      'Zzfunnel, Otto',
    ]);
    expect(errors).toEqual([]);
    await context.close();
  });
});
