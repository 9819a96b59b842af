import { MailSenderService } from '../../../src/invitations/mail/mail-sender.service';
import { signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';
import { addPatient, rowIds, totalOf } from './onboarding-fixtures';

type Agent = Awaited<ReturnType<typeof signInAs>>;

/**
 * CLINIC_TIME_ZONE (issue 13, "Local time"): times are stored UTC, shown in the clinic's zone,
 * and "after / before day D" are days of the clinic's calendar. New York is 5 hours behind UTC
 * in December, so 2026-12-02 03:30 UTC is still December 1st at the clinic.
 */
describe.each([
  ['America/New_York', { shown: '2026-12-01 22:30 EST', onDay: '2026-12-01' }],
  ['UTC', { shown: '2026-12-02 03:30 UTC', onDay: '2026-12-02' }],
])('the onboarding page with CLINIC_TIME_ZONE=%s', (zone, expected) => {
  let t: TestApp;
  let agent: Agent;
  let late: number;
  let early: number;

  beforeAll(async () => {
    t = await startTestApp({ CLINIC_TIME_ZONE: zone });
    agent = await signInAs(t);
    late = await addPatient(t, { firstName: 'Late', lastName: 'Zonetest', email: 'late@example.test', status: 'gray' });
    early = await addPatient(t, { firstName: 'Early', lastName: 'Zonetest', email: 'early@example.test' });
    await t.dataSource.query('UPDATE patients SET next_appointment_at = ? WHERE id = ?', ['2026-12-02 03:30:00', late]);
    await t.dataSource.query('UPDATE patients SET next_appointment_at = ? WHERE id = ?', ['2026-12-01 14:00:00', early]);
  });
  afterAll(async () => t.close());

  const shown = async (query: string) => {
    const res = await agent.get(`/portal-onboarding?q=Zonetest&${query}`).set('HX-Request', 'true').expect(200);
    return { ids: rowIds(res.text).sort((a, b) => a - b), total: totalOf(res.text), html: res.text };
  };

  it('shows the next appointment in the clinic zone, with the zone named', async () => {
    const { html } = await shown('');
    expect(html).toContain(expected.shown);
  });

  it('reads "after" and "before" a day as days of the clinic calendar', async () => {
    // The late appointment falls on expected.onDay at the clinic: before the next day, after the previous day, on neither side of its own day.
    const day = expected.onDay;
    const next = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
    const previous = new Date(Date.parse(`${day}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
    expect((await shown(`apptBefore=${next}`)).ids).toContain(late);
    expect((await shown(`apptAfter=${previous}`)).ids).toContain(late);
    expect((await shown(`apptBefore=${day}`)).ids).not.toContain(late);
    expect((await shown(`apptAfter=${day}`)).ids).not.toContain(late);
    // The early one (14:00 UTC on 12-01) is on 12-01 in both zones.
    expect((await shown('apptAfter=2026-11-30&apptBefore=2026-12-02')).ids).toContain(early);
  });

  it('shows when an invite was queued and sent in the clinic zone; the database keeps UTC', async () => {
    await agent
      .post(`/portal-onboarding/patients/${late}/invite`)
      .set('HX-Request', 'true')
      .set('X-CSRF-Token', agent.csrf)
      .expect(200);
    await t.app.get(MailSenderService).drainOnce();
    const [{ sent_at }] = await t.dataSource.query('SELECT sent_at FROM mail_outbox WHERE patient_id = ?', [late]);
    const sentUtc = sent_at instanceof Date ? sent_at : new Date(`${String(sent_at).replace(' ', 'T')}Z`);
    // Swedish writes local time as "YYYY-MM-DD HH:MM:SS": an independent way to get the clinic's wall clock.
    const local = sentUtc.toLocaleString('sv-SE', { timeZone: zone }).slice(0, 16);
    const { html } = await shown('');
    expect(html).toMatch(new RegExp(`Invite sent\\s+${local} (UTC|EST|EDT)`));
  });

  it('uses the same zone in the CSV export', async () => {
    const csv = await agent.get('/portal-onboarding/export.csv?q=Zonetest').expect(200);
    expect(csv.text).toContain(expected.shown);
  });
});
