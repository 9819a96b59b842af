import type { AuditContext } from '../../../src/audit/audit-context';
import { RemindersService } from '../../../src/activation/reminders.service';
import { InvitationsService } from '../../../src/portal-access/invitations.service';
import { MetricsService } from '../../../src/observability/metrics.service';
import { createPortalPatient } from '../../support/portal-patients';
import { createStaffUser, signInAs } from '../../support/staff';
import { testDatabaseKind } from '../../support/test-database';
import { startTestApp, TestApp } from '../../support/test-app';

const DAY = 86_400_000;
const sql = (date: Date) => date.toISOString().slice(0, 19).replace('T', ' ');
const daysAgo = (days: number) => sql(new Date(Date.now() - days * DAY));

describe('automatic reminders', () => {
  let a: TestApp;
  let b: TestApp;
  let context: AuditContext;
  let admin: Awaited<ReturnType<typeof signInAs>>;
  let reminders: RemindersService;

  beforeAll(async () => {
    // No scheduler in the test apps: each pass is run here, as `npm run reminders:run` does.
    a = await startTestApp({ REMINDER_INTERVAL_SECONDS: '0' });
    b = await startTestApp({ REMINDER_INTERVAL_SECONDS: '0' }, a.database);
    reminders = a.app.get(RemindersService);
    const user = await createStaffUser(a);
    context = { actorType: 'staff', actorId: user.id, actorLabel: user.email, ip: '127.0.0.1', userAgent: 'jest' };
    admin = await signInAs(a, 'admin');
  });
  afterAll(async () => {
    await b.close();
    await a.close();
  });

  const setPolicy = (form: Record<string, string>) =>
    admin
      .post('/admin/reminders')
      .type('form')
      .send({
        _csrf: admin.csrf,
        enabled: 'yes',
        daysAfterInvite: '3, 7',
        daysBeforeAppointment: '2',
        maxPerPatient: '3',
        allowedFromHour: '0',
        allowedUntilHour: '24',
        ...form,
      });

  /** A patient invited `days` ago (the clock moved by changing the stored times). */
  async function invited(days: number, lastName: string, extra: { appointmentInDays?: number } = {}) {
    const patient = await createPortalPatient(a, { firstName: 'Rem', lastName });
    await a.app.get(InvitationsService).sendInvites([patient.id], context);
    await a.dataSource.query('UPDATE portal_tokens SET created_at = ? WHERE patient_id = ?', [daysAgo(days), patient.id]);
    await a.dataSource.query('UPDATE portal_accounts SET invited_at = ? WHERE patient_id = ?', [daysAgo(days), patient.id]);
    if (extra.appointmentInDays !== undefined)
      await a.dataSource.query('UPDATE patients SET next_appointment_at = ? WHERE id = ?', [
        sql(new Date(Date.now() + extra.appointmentInDays * DAY)),
        patient.id,
      ]);
    return patient;
  }
  const remindersOf = async (patientId: number) =>
    (
      await a.dataSource.query(
        "SELECT o.subject, t.issued_by, t.revoked_at FROM mail_outbox o JOIN portal_tokens t ON t.id = o.portal_token_id WHERE o.patient_id = ? AND t.issued_by = 'reminder' ORDER BY o.id",
        [patientId],
      )
    ).map((row: { subject: string }) => row.subject);
  /** Reminders are days apart in life; here seconds, so the earlier reminder's link is moved back a day. */
  const ageReminderLinks = (patientId: number) =>
    a.dataSource.query("UPDATE portal_tokens SET created_at = ? WHERE patient_id = ? AND issued_by = 'reminder'", [
      daysAgo(1),
      patientId,
    ]);
  const stepsOf = async (patientId: number) =>
    (await a.dataSource.query('SELECT step_key FROM portal_reminders WHERE patient_id = ? ORDER BY id', [patientId])).map(
      (row: { step_key: string }) => row.step_key.replace(/:\d+:/, ':#:').replace(/^visit:.*/, 'visit'),
    );

  it('is off by default and the admin page says so; bad days are refused with nothing changed', async () => {
    const patient = await invited(10, 'Zzoff');
    expect((await reminders.runOnce()).outcome).toBe('off');
    expect(await remindersOf(patient.id)).toEqual([]);
    const page = await admin.get('/admin/reminders').expect(200);
    expect(page.text).toContain('<strong>Off:</strong>');
    const refused = await setPolicy({ daysAfterInvite: '3, seven' }).expect(400);
    expect(refused.text).toContain('give whole days from 1 to 365');
    expect((await reminders.policy()).enabled).toBe(false);
    await setPolicy({}).expect(303);
    expect((await reminders.policy()).enabled).toBe(true);
    expect((await admin.get('/admin/reminders').expect(200)).text).toContain('<strong>On:</strong>');
    const [audit] = await a.dataSource.query(
      "SELECT actor_id, details FROM audit_events WHERE action = 'reminders.policy_changed'",
    );
    expect(Number(audit.actor_id)).toBe(admin.user.id);
    expect(JSON.parse(audit.details).changed).toEqual(['enabled', 'allowedFromHour', 'allowedUntilHour']);
    // The same form saved again, untouched: nothing changes and nothing more is audited.
    await setPolicy({}).expect(303);
    const [{ n }] = await a.dataSource.query("SELECT COUNT(*) AS n FROM audit_events WHERE action = 'reminders.policy_changed'");
    expect(Number(n)).toBe(1);
    // The 10-day-old invite is now due: only its latest step (day 7), never day 3 late as well.
    await reminders.runOnce();
    expect(await stepsOf(patient.id)).toEqual(['invite:#:7']);
  });

  it('reminds on day 3 and day 7 with a fresh link and a "Reminder" subject, once per step, up to the cap', async () => {
    await setPolicy({}).expect(303);
    const patient = await invited(2, 'Zzdays', {});
    await reminders.runOnce();
    expect(await remindersOf(patient.id)).toEqual([]);

    await a.dataSource.query(
      "UPDATE portal_tokens SET created_at = ? WHERE patient_id = ? AND (issued_by IS NULL OR issued_by <> 'reminder')",
      [daysAgo(3.2), patient.id],
    );
    await reminders.runOnce();
    await reminders.runOnce();
    const subjects = await remindersOf(patient.id);
    expect(subjects).toHaveLength(1);
    expect(subjects[0]).toMatch(/^Reminder: /);
    // The staff's link was revoked by the reminder's fresh one.
    const links = await a.dataSource.query(
      'SELECT issued_by, revoked_at, revoked_reason FROM portal_tokens WHERE patient_id = ? ORDER BY id',
      [patient.id],
    );
    expect(links.map((l: { issued_by: string; revoked_at: unknown }) => [l.issued_by, l.revoked_at !== null])).toEqual([
      ['staff', true],
      ['reminder', false],
    ]);

    await a.dataSource.query(
      "UPDATE portal_tokens SET created_at = ? WHERE patient_id = ? AND (issued_by IS NULL OR issued_by <> 'reminder')",
      [daysAgo(7.5), patient.id],
    );
    await ageReminderLinks(patient.id);
    await reminders.runOnce();
    expect(await stepsOf(patient.id)).toEqual(['invite:#:3', 'invite:#:7']);

    // An appointment two days out is the third reminder; the cap (3) stops a fourth.
    await a.dataSource.query('UPDATE patients SET next_appointment_at = ? WHERE id = ?', [
      sql(new Date(Date.now() + DAY)),
      patient.id,
    ]);
    await ageReminderLinks(patient.id);
    await reminders.runOnce();
    expect(await stepsOf(patient.id)).toEqual(['invite:#:3', 'invite:#:7', 'visit']);
    await a.dataSource.query('UPDATE patients SET next_appointment_at = ? WHERE id = ?', [
      sql(new Date(Date.now() + DAY + 3_600_000)),
      patient.id,
    ]);
    await reminders.runOnce();
    expect(await remindersOf(patient.id)).toHaveLength(3);
    const activity = await admin.get(`/patients/${patient.id}?tab=portal`).expect(200);
    expect(activity.text).toContain('Automatic reminder sent 2 days before the next appointment, with a fresh link.');
    expect(activity.text).toContain('automatic reminder');
  });

  it('reminds K days before the next appointment, but not for a visit further away', async () => {
    await setPolicy({}).expect(303);
    const near = await invited(1.5, 'Zzvisit', { appointmentInDays: 1.5 });
    const far = await invited(1.5, 'Zzvisit', { appointmentInDays: 5 });
    await reminders.runOnce();
    expect(await stepsOf(near.id)).toEqual(['visit']);
    expect(await stepsOf(far.id)).toEqual([]);
  });

  it('sends nothing outside the allowed hours (clinic time zone)', async () => {
    const hour = new Date().getUTCHours();
    await setPolicy({ allowedFromHour: String((hour + 2) % 24), allowedUntilHour: String((hour + 3) % 24) }).expect(303);
    const patient = await invited(4, 'Zzquiet');
    expect((await reminders.runOnce()).outcome).toBe('outside_hours');
    expect(await remindersOf(patient.id)).toEqual([]);
    await setPolicy({ allowedFromHour: String(hour), allowedUntilHour: String((hour + 1) % 24 || 24) }).expect(303);
    expect((await reminders.runOnce()).outcome).toBe('ran');
    expect(await stepsOf(patient.id)).toEqual(['invite:#:3']);
  });

  it('stops at set-up, disable, email change, bounce and for a patient who may not be invited', async () => {
    await setPolicy({}).expect(303);
    const setUp = await invited(4, 'Zzstop');
    await a.dataSource.query("UPDATE portal_accounts SET username = 'zz.setup', username_key = 'zz.setup' WHERE patient_id = ?", [
      setUp.id,
    ]);
    const disabled = await invited(4, 'Zzstop');
    await a.dataSource.query('UPDATE portal_accounts SET access_enabled = 0 WHERE patient_id = ?', [disabled.id]);
    const moved = await invited(4, 'Zzstop');
    await a.dataSource.query("UPDATE patients SET email = 'moved.elsewhere@example.test' WHERE id = ?", [moved.id]);
    const bounced = await invited(4, 'Zzstop');
    await a.dataSource.query('UPDATE portal_accounts SET bounced_email = ? WHERE patient_id = ?', [bounced.email, bounced.id]);
    const deceased = await invited(4, 'Zzstop');
    await a.dataSource.query('UPDATE patients SET deceased = 1 WHERE id = ?', [deceased.id]);
    const control = await invited(4, 'Zzstop');

    const run = await reminders.runOnce();
    expect(run.blocked).toBeGreaterThanOrEqual(1);
    for (const stopped of [setUp, disabled, moved, bounced, deceased]) expect(await stepsOf(stopped.id)).toEqual([]);
    expect(await stepsOf(control.id)).toEqual(['invite:#:3']);
  });

  it('two app instances on one database running passes at once never send the same reminder twice', async () => {
    await setPolicy({}).expect(303);
    const patients = [];
    for (let i = 0; i < 12; i++) patients.push(await invited(3.5, 'Zzpair'));
    const other = b.app.get(RemindersService);
    const before = await a.app.get(MetricsService).registry.getSingleMetricAsString('portal_reminder_runs_total');
    // On MariaDB the passes really overlap (both read the same due list, then race for the claims). Two
    // better-sqlite3 connections in one process cannot wait for each other's transaction (the wait blocks
    // the event loop), so on SQLite — one instance in production — they take turns.
    const passes = [reminders, other, reminders, other];
    const runs =
      testDatabaseKind() === 'mysql'
        ? await Promise.all(passes.map((service) => service.runOnce()))
        : await passes.reduce(
            async (done, service) => [...(await done), await service.runOnce()],
            Promise.resolve([] as Awaited<ReturnType<RemindersService['runOnce']>>[]),
          );
    expect(runs.reduce((sum, run) => sum + run.sent, 0)).toBe(patients.length);
    for (const patient of patients) {
      expect(await stepsOf(patient.id)).toEqual(['invite:#:3']);
      expect(await remindersOf(patient.id)).toHaveLength(1);
      const open = await a.dataSource.query(
        'SELECT COUNT(*) AS n FROM portal_tokens WHERE patient_id = ? AND revoked_at IS NULL AND used_at IS NULL',
        [patient.id],
      );
      expect(Number(open[0].n)).toBe(1);
    }
    const audits = await a.dataSource.query(
      `SELECT COUNT(*) AS n FROM audit_events WHERE action = 'portal.reminder_sent' AND patient_id IN (${patients.map((p) => p.id).join(',')})`,
    );
    expect(Number(audits[0].n)).toBe(patients.length);
    expect(await a.app.get(MetricsService).registry.getSingleMetricAsString('portal_reminder_runs_total')).not.toBe(before);
  });
});
