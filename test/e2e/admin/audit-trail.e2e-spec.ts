import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AuditService } from '../../../src/audit/audit.service';
import { SYSTEM_CONTEXT } from '../../../src/audit/audit-context';
import { signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

const tableOf = (html: string) => /<tbody>([\s\S]*?)<\/tbody>/.exec(html)![1];

describe('the audit trail', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof signInAs>>;
  beforeAll(async () => {
    t = await startTestApp();
    admin = await signInAs(t, 'admin');
    const audit = t.app.get(AuditService);
    await t.dataSource.query(
      "INSERT INTO patients (id, first_name, last_name, date_of_birth) VALUES (9001, 'Ada', '<img src=x onerror=alert(1)>', '1980-02-03')",
    );
    await audit.record(
      { ...SYSTEM_CONTEXT, actorType: 'staff', actorId: admin.user.id, actorLabel: admin.user.email },
      { action: 'portal.access_enabled', patientId: 9001, details: { note: '<script>alert(1)</script>' } },
    );
    for (let i = 0; i < 60; i++) await audit.record(SYSTEM_CONTEXT, { action: 'mail.sent', details: { n: i } });
  });
  afterAll(async () => t.close());

  it('lists events newest first, escaping what they contain, and pages through older ones', async () => {
    const res = await admin.get('/admin/audit').expect(200);
    expect(res.text).toContain('mail.sent');
    expect(res.text).not.toContain('<script>alert(1)</script>');
    expect(res.text).not.toContain('<img src=x');
    const older = /href="(\/admin\/audit\?before=\d+)"/.exec(res.text.replace(/&amp;/g, '&'));
    expect(older).not.toBeNull();
    const next = await admin.get(older![1]).expect(200);
    expect(next.text).toContain('portal.access_enabled');
    expect(next.text).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('filters by patient, staff user, action and date range, and returns only the table to htmx', async () => {
    const byPatient = await admin.get('/admin/audit?patientId=9001').expect(200);
    expect(tableOf(byPatient.text)).toContain('portal.access_enabled');
    expect(tableOf(byPatient.text)).not.toContain('mail.sent');
    const byStaff = await admin.get(`/admin/audit?staffUserId=${admin.user.id}&action=portal.access_enabled`).expect(200);
    expect(byStaff.text).toContain('portal.access_enabled');
    const today = new Date().toISOString().slice(0, 10);
    const inRange = await admin.get(`/admin/audit?from=${today}&to=${today}&action=mail.sent`).expect(200);
    expect(inRange.text).toContain('mail.sent');
    const outOfRange = await admin.get('/admin/audit?from=2001-01-01&to=2001-01-02').expect(200);
    expect(outOfRange.text).toContain('No events.');
    const fragment = await admin.get('/admin/audit?action=mail.sent').set('HX-Request', 'true').expect(200);
    expect(fragment.text.trim().startsWith('<div id="audit-results">')).toBe(true);
    expect(fragment.text).not.toContain('<html');
  });

  it.each(['patientId=abc', 'from=yesterday', 'action=DROP%20TABLE', 'patientId=1&patientId=2', 'sort=id'])(
    'refuses the tampered filter %s with 400',
    async (query) => {
      const res = await admin.get(`/admin/audit?${query}`);
      expect(res.status).toBe(400);
    },
  );

  it('records that the trail was read, with the filter used', async () => {
    await admin.get('/admin/audit?patientId=9001').expect(200);
    const rows = await t.dataSource.query(
      "SELECT actor_id, patient_id, details FROM audit_events WHERE action = 'audit.viewed' ORDER BY id DESC",
    );
    expect(rows[0].actor_id).toBe(admin.user.id);
    expect(Number(rows[0].patient_id)).toBe(9001);
  });

  it('is closed to staff without the admin role', async () => {
    const staff = await signInAs(t, 'staff');
    expect((await staff.get('/admin/audit')).status).toBe(403);
  });
});

describe('audit events are append-only', () => {
  it('no source file or migration updates or deletes audit_events', () => {
    const root = join(__dirname, '..', '..', '..');
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        if (statSync(path).isDirectory()) walk(path);
        else if (path.endsWith('.ts')) files.push(path);
      }
    };
    walk(join(root, 'src'));
    walk(join(root, 'migrations'));
    const offenders = files.filter((file) => {
      const text = readFileSync(file, 'utf8');
      return (
        /(UPDATE|DELETE\s+FROM)\s+`?audit_events/i.test(text) ||
        /\.(update|delete|remove|softDelete)\(\s*AuditEvent\b/.test(text) ||
        /dropTable\('audit_events'\)/.test(text.replace(/async down[\s\S]*$/, ''))
      );
    });
    expect(offenders).toEqual([]);
  });
});
