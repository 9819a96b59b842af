import { BrowserStack, collectPageErrors, screenshot, signInThroughForm, startBrowserStack } from '../support/browser';
import { createStaffUser } from '../support/staff';

/** Issue 13, defects 5 and 8: Reload/Back after a form never post it again; disabling asks first. */
describe('an admin managing staff users in a real browser', () => {
  let stack: BrowserStack;
  beforeAll(async () => {
    stack = await startBrowserStack();
  });
  afterAll(async () => stack?.close());

  const count = async (sql: string, params: unknown[] = []) => Number((await stack.t.dataSource.query(sql, params))[0].n);

  it('adds a staff user; Reload and Back afterwards neither re-post the form nor show the one-time password again', async () => {
    const { t, browser, base } = stack;
    const admin = await createStaffUser(t, 'admin', 'Ada Admin');
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    const dialogs: string[] = [];
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    const posts: string[] = [];
    page.on('request', (req) => {
      if (req.method() === 'POST') posts.push(new URL(req.url()).pathname);
    });
    await signInThroughForm(page, base, admin.email, admin.password, '/admin/users');
    await page.getByRole('link', { name: 'Add a staff user' }).click();
    await page.getByLabel('Name').fill('Nina Newhire');
    await page.getByLabel('Email').fill('nina.newhire@clinic.test');
    posts.length = 0;
    await page.getByRole('button', { name: 'Create staff user' }).click();
    await page.getByRole('heading', { name: 'Staff user created' }).waitFor();
    expect(page.url()).toBe(`${base}/admin/users/one-time-password`);
    const password = (await page.getByTestId('temporary-password').textContent())!.trim();
    expect(password).not.toMatch(/[Il1O0]/);
    expect(page.url()).not.toContain(password);
    await screenshot(page, 'staff-user-created-1280');

    await page.reload();
    await page.getByRole('heading', { name: 'One-time password already shown' }).waitFor();
    await page.goBack();
    await page.waitForURL(`${base}/admin/users/new`);
    expect(posts).toEqual(['/admin/users']);
    expect(dialogs).toEqual([]);
    expect(await count("SELECT COUNT(*) AS n FROM staff_users WHERE email = 'nina.newhire@clinic.test'")).toBe(1);
    expect(
      await count(
        "SELECT COUNT(*) AS n FROM audit_events WHERE action = 'admin.staff_created' AND details LIKE '%nina.newhire%'",
      ),
    ).toBe(1);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('disabling asks for confirmation on its own page (no script), and a reload of the result posts nothing', async () => {
    const { t, browser, base } = stack;
    const admin = await createStaffUser(t, 'admin', 'Ari Admin');
    const colleague = await createStaffUser(t, 'staff', 'Dee Disabled');
    for (const width of [1280, 400]) {
      const context = await browser.newContext({ viewport: { width, height: 900 } });
      const page = await context.newPage();
      const errors = collectPageErrors(page);
      await signInThroughForm(page, base, admin.email, admin.password, '/admin/users');
      await screenshot(page, `staff-users-${width}`);
      await page
        .getByRole('row', { name: /Dee Disabled/ })
        .getByRole('link', { name: 'Disable Dee Disabled' })
        .click();
      await page.getByRole('heading', { name: 'Disable Dee Disabled?' }).waitFor();
      await screenshot(page, `staff-user-confirm-disable-${width}`);
      if (width === 400) {
        // Cancel leaves the user as they were.
        await page.getByRole('link', { name: 'Cancel' }).click();
        await page.waitForURL(`${base}/admin/users`);
        expect(
          Number((await t.dataSource.query('SELECT disabled FROM staff_users WHERE id = ?', [colleague.id]))[0].disabled),
        ).toBe(0);
      } else {
        await page.getByRole('button', { name: 'Disable Dee Disabled' }).click();
        await page.getByText('Dee Disabled is disabled and signed out.').waitFor();
        expect(page.url()).toBe(`${base}/admin/users`);
        await page.reload();
        await page.getByRole('heading', { name: 'Staff users' }).waitFor();
        expect(await page.getByText('Dee Disabled is disabled and signed out.').count()).toBe(0);
        expect(await count("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'admin.staff_disabled'")).toBe(1);
        // Enabling again is one click (no harm in it).
        await page
          .getByRole('row', { name: /Dee Disabled/ })
          .getByRole('button', { name: 'Enable' })
          .click();
        await page.getByText('Dee Disabled is enabled.').waitFor();
      }
      expect(errors).toEqual([]);
      await context.close();
    }
  });
});
