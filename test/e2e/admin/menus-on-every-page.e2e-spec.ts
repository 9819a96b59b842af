import { seedDemoData } from '../../../src/demo/demo-seeder';
import { staffPageRoutes } from '../../support/routes';
import { createStaffUser, signIn } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

/** The top menu as rendered: the Admin group and the signed-in user's group with Sign out. */
function menuOf(html: string): { admin: boolean; userName: string | null; signOut: boolean } {
  const nav = /<nav class="menu" aria-label="Main">([\s\S]*?)<\/nav>/.exec(html)?.[1] ?? '';
  return {
    admin: />Admin<\/button>/.test(nav) && nav.includes('href="/admin/audit"') && nav.includes('href="/admin/users"'),
    userName: /<li class="menu-group menu-account">\s*<button[^>]*>([^<]*)<\/button>/.exec(nav)?.[1] ?? null,
    signOut: /<form method="post" action="\/logout">[\s\S]*Sign out/.test(nav),
  };
}

describe('an admin on any staff page', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
    await seedDemoData(t.dataSource, { patients: 5, seed: 13 });
  });
  afterAll(async () => t.close());

  it('sees the full menu (Admin, and their own name with Sign out) on every page, the audit trail and error pages included', async () => {
    const admin = await createStaffUser(t, 'admin', 'Ada Lovelace-Menu');
    const agent = await signIn(t, admin.email, admin.password);
    const routes = staffPageRoutes(t);
    expect(routes.map((route) => route.path)).toEqual(
      expect.arrayContaining(['/admin/audit', '/admin/users', '/patients/1', '/portal-onboarding', '/account/password']),
    );
    const checked: string[] = [];
    for (const route of routes) {
      let res = await agent.get(route.path);
      if (res.status >= 300 && res.status < 400) res = await agent.get(res.headers.location);
      // CSV downloads and JSON are not pages.
      if (!/^text\/html/.test(res.headers['content-type'] ?? '')) continue;
      expect({ page: route.path, status: res.status, menu: menuOf(res.text) }).toEqual({
        page: route.path,
        status: res.status,
        menu: { admin: true, userName: 'Ada Lovelace-Menu', signOut: true },
      });
      checked.push(route.path);
    }
    expect(checked).toEqual(
      expect.arrayContaining([
        '/admin/audit',
        '/admin/users',
        '/admin/security',
        '/admin/import',
        '/patients/1',
        '/portal-onboarding',
      ]),
    );
    // A filtered audit trail page too (the page that used to lose its menus).
    const filtered = await agent.get('/admin/audit?action=patient.viewed').expect(200);
    expect(menuOf(filtered.text)).toEqual({ admin: true, userName: 'Ada Lovelace-Menu', signOut: true });
  });
});
