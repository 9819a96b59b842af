import { AuditService } from '../../../src/audit/audit.service';
import { SYSTEM_CONTEXT } from '../../../src/audit/audit-context';
import { signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

/** The patients whose events the table shows (the Patient column's link targets). */
const patientsIn = (html: string) =>
  [
    ...new Set([.../<tbody>([\s\S]*?)<\/tbody>/.exec(html)![1].matchAll(/href="\/patients\/(\d+)"/g)].map((m) => Number(m[1]))),
  ].sort();
const messageOf = (html: string) =>
  (/<p id="patient-matches"[^>]*>([\s\S]*?)<\/p>/.exec(html)?.[1] ?? '').replace(/\s+/g, ' ').trim();

describe('the audit trail filtered by a patient’s name or MRN', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof signInAs>>;
  const ids: Record<string, number> = {};
  beforeAll(async () => {
    t = await startTestApp();
    admin = await signInAs(t, 'admin');
    const audit = t.app.get(AuditService);
    const people: Array<[string, string, string, string]> = [
      ['annS', 'Ann', 'Smith', 'MRN-1001'],
      ['bobS', 'Bob', 'Smithers', 'MRN-1002'],
      ['annJ', 'Ann', 'Jones', 'mrn-2001'],
      ['pct', 'Per', 'Cent%Man', 'MRN-3001'],
      ['pcx', 'Per', 'Centaur', 'MRN-3002'],
    ];
    for (const [key, first, last, mrn] of people) {
      await t.dataSource.query(
        "INSERT INTO patients (first_name, last_name, date_of_birth, external_id) VALUES (?, ?, '1980-01-01', ?)",
        [first, last, mrn],
      );
      ids[key] = Number((await t.dataSource.query('SELECT id FROM patients WHERE external_id = ?', [mrn]))[0].id);
      await audit.record(SYSTEM_CONTEXT, { action: 'portal.access_enabled', patientId: ids[key] });
    }
    await audit.record(SYSTEM_CONTEXT, { action: 'mail.sent' });
  });
  afterAll(async () => t.close());

  it.each<[string, string[], RegExp]>([
    ['MRN-1001', ['annS'], /^Events of Smith, Ann \(MRN MRN-1001\)\.$/],
    ['MRN-2001', ['annJ'], /^Events of Jones, Ann/],
    ['Smith, Ann', ['annS'], /^Events of Smith, Ann/],
    ['Ann Smith', ['annS'], /^Events of Smith, Ann/],
    [
      'smith',
      ['annS', 'bobS'],
      /^2 patients match “smith”; showing events of all of them: Smith, Ann \(MRN-1001\); Smithers, Bob \(MRN-1002\)\./,
    ],
    ['Ann', ['annJ', 'annS'], /^2 patients match “Ann”/],
    ['Cent%', ['pct'], /^Events of Cent%Man, Per/],
  ])('“%s” shows the events of exactly those patients', async (typed, expected, message) => {
    const res = await admin.get(`/admin/audit?patient=${encodeURIComponent(typed)}`).expect(200);
    expect(patientsIn(res.text)).toEqual(expected.map((key) => ids[key]).sort());
    expect(messageOf(res.text)).toMatch(message);
    // The filter keeps what was typed, and the table holds no unrelated events.
    expect(res.text).toContain(`value="${typed.replace('&', '&amp;')}"`);
    expect(res.text).not.toContain('mail.sent</td>');
  });

  it('says so in words when nobody matches, and shows no events', async () => {
    const res = await admin.get('/admin/audit?patient=Nobody').expect(200);
    expect(messageOf(res.text)).toBe('No patient matches “Nobody”: check the spelling, or type the MRN.');
    expect(res.text).toContain('No events.');
  });

  it('works for htmx (the message is in the swapped fragment) and pages keep the filter', async () => {
    const res = await admin.get('/admin/audit?patient=smith').set('HX-Request', 'true').expect(200);
    expect(res.text.trim().startsWith('<div id="audit-results">')).toBe(true);
    expect(messageOf(res.text)).toMatch(/^2 patients match/);
  });

  it('refuses control characters or an over-long value with 400, and records the filter that was read', async () => {
    expect((await admin.get('/admin/audit?patient=%00x')).status).toBe(400);
    expect((await admin.get(`/admin/audit?patient=${'x'.repeat(101)}`)).status).toBe(400);
    await admin.get('/admin/audit?patient=MRN-1001').expect(200);
    const [row] = await t.dataSource.query(
      "SELECT patient_id, details FROM audit_events WHERE action = 'audit.viewed' ORDER BY id DESC LIMIT 1",
    );
    expect(Number(row.patient_id)).toBe(ids.annS);
    expect(JSON.parse(row.details).filter).toEqual({ patient: 'MRN-1001' });
  });
});
