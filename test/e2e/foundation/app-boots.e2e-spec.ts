import request from 'supertest';
import { signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

describe('the app on a fresh database', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  it('serves the sign-in page in the base layout with htmx from our own origin', async () => {
    const res = await request(t.server).get('/login').expect(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.text).toContain('<script src="/static/vendor/htmx.min.js" defer></script>');
    expect(res.text).not.toMatch(/https?:\/\/(unpkg|cdn|cdnjs|ajax)/);
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('serves htmx with a JavaScript content type', async () => {
    const res = await request(t.server).get('/static/vendor/htmx.min.js').expect(200);
    expect(res.headers['content-type']).toMatch(/javascript/);
    expect(res.text).toContain('htmx');
  });

  it('shows a signed-in staff member the menu with the Pt Portal Onboarding Tool link', async () => {
    const agent = await signInAs(t);
    const res = await agent.get('/account/password').expect(200);
    expect(res.text).toContain('Pt Portal');
    expect(res.text).toContain('<a href="/portal-onboarding"');
    expect(res.text).toContain('Pt Portal Onboarding Tool');
  });

  it('answers /healthz and /readyz with 200 while the database is reachable and migrated', async () => {
    await request(t.server).get('/healthz').expect(200, { status: 'ok' });
    await request(t.server).get('/readyz').expect(200, { status: 'ready' });
  });

  it('does not serve source, data or repository files', async () => {
    const statuses: Record<string, number> = {};
    for (const path of [
      '/.git/config',
      '/.env',
      '/data/portal.sqlite',
      '/portal.sqlite',
      '/main.js.map',
      '/static/../package.json',
      '/static/%2e%2e/package.json',
      '/static/.gitignore',
    ]) {
      const res = await request(t.server).get(path);
      statuses[path] = res.status;
      expect(res.text).not.toContain('"dependencies"');
    }
    expect(Object.values(statuses).every((status) => status === 404 || status === 403)).toBe(true);
  });
});

describe('/readyz when the schema is behind or the database is gone', () => {
  it('answers 503 while /healthz (the process) still answers 200', async () => {
    const t = await startTestApp();
    try {
      await request(t.server).get('/readyz').expect(200);
      // A database whose schema is behind this code (a migration not run) is not ready either.
      const [last] = await t.dataSource.query('SELECT id, timestamp, name FROM migrations ORDER BY id DESC LIMIT 1');
      await t.dataSource.query('DELETE FROM migrations WHERE id = ?', [last.id]);
      await request(t.server).get('/readyz').expect(503);
      await t.dataSource.query('INSERT INTO migrations (id, timestamp, name) VALUES (?, ?, ?)', [
        last.id,
        last.timestamp,
        last.name,
      ]);
      await request(t.server).get('/readyz').expect(200);
      await t.dataSource.destroy();
      const res = await request(t.server).get('/readyz').expect(503);
      expect(res.text).not.toMatch(/at .*\.ts:\d+/);
      await request(t.server).get('/healthz').expect(200, { status: 'ok' });
    } finally {
      await t.close().catch(() => undefined);
    }
  });
});
