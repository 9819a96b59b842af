import type { Page } from 'playwright-core';
import { MailSenderService } from '../../src/invitations/mail/mail-sender.service';
import { addPatient, seedPatients } from '../e2e/staff/onboarding-fixtures';
import { BrowserStack, collectPageErrors, expectAccessible, startBrowserStack } from '../support/browser';
import { createStaffUser } from '../support/staff';

// Globals of the callbacks that run inside the page (test/tsconfig.json has no DOM lib).
declare const document: {
  activeElement: { textContent: string | null; id: string } | null;
  documentElement: { scrollWidth: number; clientWidth: number };
  getElementById(id: string): { textContent: string | null } | null;
};

/** axe-core on the staff pages in each of their states, and the main flow with the keyboard alone. */
describe('staff pages for keyboard and screen-reader users, in a real browser', () => {
  let stack: BrowserStack;
  let rita: number;
  beforeAll(async () => {
    stack = await startBrowserStack();
    await seedPatients(stack.t, 60, 5);
    rita = await addPatient(stack.t, { firstName: 'Rita', lastName: 'Teclado', email: 'rita.teclado@example.test' });
    await stack.t.dataSource.query("UPDATE patients SET preferred_language = 'es' WHERE id = ?", [rita]);
  });
  afterAll(async () => stack?.close());

  async function signedIn(
    role: 'staff' | 'admin',
    width = 1280,
  ): Promise<{ page: Page; errors: string[]; close(): Promise<void> }> {
    const user = await createStaffUser(stack.t, role, role === 'admin' ? 'Ada Admin' : 'Sam Staff');
    const context = await stack.browser.newContext({ viewport: { width, height: 900 } });
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${stack.base}/login`);
    await expectAccessible(page, 'staff sign-in');
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/portal-onboarding$/);
    return { page, errors, close: () => context.close() };
  }

  it('enables and invites one patient and bulk-invites with the keyboard alone: focus follows each swap, changes are announced', async () => {
    const { page, errors, close } = await signedIn('staff');
    await expectAccessible(page, 'onboarding');
    // Skip link first, then the search box: Tab order starts where the work is.
    await page.keyboard.press('Tab');
    await expect(page.evaluate(() => document.activeElement?.textContent)).resolves.toBe('Skip to content');
    await page.getByLabel('Name', { exact: true }).focus();
    await page.keyboard.type('Teclado');
    await page.keyboard.press('Enter');
    await page.waitForURL(/q=Teclado/);
    await expectAccessible(page, 'onboarding filtered by name');

    // The red block: Enter enables, the row is swapped, focus lands on its invite button, the change is announced.
    const red = page.getByRole('button', { name: 'Enable portal access for Rita Teclado — status: Not enabled' });
    await red.focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(() =>
      (document.activeElement?.textContent ?? '').includes('Send Invite to rita.teclado@example.test'),
    );
    await page.waitForFunction(() => (document.getElementById('row-announcer')?.textContent ?? '').startsWith('Rita Teclado: '));
    await expectAccessible(page, 'onboarding row enabled');
    await page.keyboard.press('Enter');
    await page.locator(`#patient-${rita} .status-orange`).waitFor();
    await page.waitForFunction(() => /invite queued/.test(document.getElementById('row-announcer')?.textContent ?? ''));
    await expectAccessible(page, 'onboarding row invited');

    // Filters of every kind, applied from the keyboard (selects apply on change).
    await page.goto(`${stack.base}/portal-onboarding?language=es&status=orange&access=yes`);
    await expectAccessible(page, 'onboarding with filters');
    await page.goto(`${stack.base}/portal-onboarding?apptAfter=2099-01-01&apptBefore=2099-01-02`);
    await expectAccessible(page, 'onboarding, a filter that cannot match');
    await page.goto(`${stack.base}/portal-onboarding?size=25&status=red`);
    await page.locator('#select-matching').focus();
    await page.keyboard.press('Space');
    await page.getByRole('button', { name: 'Enable Portal Access', exact: true }).focus();
    await page.keyboard.press('Enter');
    await page
      .locator('#bulk-area')
      .getByText(/Portal access enabled for \d+ patients?/)
      .waitFor();
    await expectAccessible(page, 'bulk enable result');

    await page.goto(`${stack.base}/portal-onboarding?size=25&status=gray`);
    await page.locator('#select-matching').focus();
    await page.keyboard.press('Space');
    await page.getByRole('button', { name: 'Send Portal Invites', exact: true }).focus();
    await page.keyboard.press('Enter');
    await page.locator('.bulk-confirm').waitFor();
    await expectAccessible(page, 'bulk invite preview');
    await page
      .locator('.bulk-confirm')
      .getByRole('button', { name: /^Send \d+ emails?$/ })
      .focus();
    await page.keyboard.press('Enter');
    await page.locator('#bulk-progress').waitFor();
    await expectAccessible(page, 'bulk progress');
    await stack.t.app.get(MailSenderService).drainOnce();
    await page.locator('#bulk-progress').getByText('Done.').waitFor({ timeout: 15_000 });
    await expectAccessible(page, 'bulk progress done');

    // The patient's dashboard, each tab and the edit form.
    for (const path of [`/patients/${rita}`, `/patients/${rita}?tab=portal`, `/patients/${rita}?tab=details&edit=details`]) {
      await page.goto(`${stack.base}${path}`);
      await expectAccessible(page, path);
    }
    expect(errors).toEqual([]);
    await close();
  });

  it('passes axe-core on the admin pages and the audit trail, and reflows at 320 px without sideways scrolling outside the table', async () => {
    const { page, errors, close } = await signedIn('admin');
    for (const path of [
      '/admin/users',
      '/admin/users/new',
      '/admin/audit',
      '/admin/import',
      '/account/password',
      '/account/security',
    ])
      await page.goto(`${stack.base}${path}`).then(() => expectAccessible(page, path));
    await close();

    const narrow = await signedIn('staff', 320);
    for (const path of ['/portal-onboarding', `/patients/${rita}`, `/patients/${rita}?tab=portal`]) {
      await narrow.page.goto(`${stack.base}${path}`);
      await expectAccessible(narrow.page, `${path} at 320 px`);
      // The table may scroll inside its own box (WCAG 1.4.10 exception); the page itself must not.
      const scrolls = await narrow.page.evaluate(
        () => document.documentElement.scrollWidth > document.documentElement.clientWidth,
      );
      expect({ path, scrolls }).toEqual({ path, scrolls: false });
    }
    expect([...errors, ...narrow.errors]).toEqual([]);
    await narrow.close();
  });
});
