import request from 'supertest';
import type { AuditContext } from '../../../src/audit/audit-context';
import { runInTransaction } from '../../../src/database/transactions';
import { MailSenderService } from '../../../src/invitations/mail/mail-sender.service';
import { MailOutboxRepository } from '../../../src/invitations/outbox.repository';
import type { PatientDetailsDto } from '../../../src/patients/dto/patient-details.dto';
import { PatientsService } from '../../../src/patients/patients.service';
import { InvitationsService } from '../../../src/portal-access/invitations.service';
import { PortalAccessService } from '../../../src/portal-access/portal-access.service';
import { PortalAccountAdminService } from '../../../src/portal-access/portal-account-admin.service';
import { deliveredByPatientSql } from '../../../src/patients/activation-funnel.repository';
import { isSqliteManager } from '../../../src/database/sql';
import { csrfTokenOf } from '../../support/html';
import { answerIdentityCheck } from '../../support/identity-check';
import { createPortalPatient, DEFAULT_BIRTH_DATE, rebuildActivationFunnel } from '../../support/portal-patients';
import { linkFrom, startSmtpServer, TestSmtpServer } from '../../support/smtp-server';
import { createStaffUser } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

const BASE_URL = 'https://portal.clinic.test';
const PASSWORD = 'lantern orchard violin gravel';

/** Both summary tables, as plain values in a fixed order (dates as ISO text: the drivers differ). */
async function summaryOf(t: TestApp) {
  const text = (value: unknown) => (value instanceof Date ? value.toISOString() : value === null ? null : String(value));
  const rows = (await t.dataSource.query('SELECT * FROM activation_funnel ORDER BY patient_id')) as Record<string, unknown>[];
  const tags = (await t.dataSource.query('SELECT * FROM activation_funnel_tags ORDER BY patient_id, tag_id')) as Record<
    string,
    unknown
  >[];
  return {
    rows: rows.map((row) => Object.fromEntries(Object.entries(row).map(([key, value]) => [key, text(value)]))),
    tags: tags.map((row) => Object.fromEntries(Object.entries(row).map(([key, value]) => [key, text(value)]))),
  };
}

describe("the activation report's summary, kept by the app's writers", () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let context: AuditContext;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({ SMTP_URL: smtp.url, PUBLIC_BASE_URL: BASE_URL, REMINDER_INTERVAL_SECONDS: '0' });
    const user = await createStaffUser(t);
    context = { actorType: 'staff', actorId: user.id, actorLabel: user.email, ip: '127.0.0.1', userAgent: 'jest' };
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  it('agrees with a from-scratch computation after enable, invite, open, set up, sign in, disable, bounce and edits', async () => {
    const invitations = t.app.get(InvitationsService);
    const sender = t.app.get(MailSenderService);
    const access = t.app.get(PortalAccessService);
    const admin = t.app.get(PortalAccountAdminService);
    const patientsService = t.app.get(PatientsService);
    const outbox = t.app.get(MailOutboxRepository);
    await t.dataSource.query("INSERT INTO providers (name, active) VALUES ('Zz Summary Provider', 1)");
    const [{ id: providerId }] = await t.dataSource.query("SELECT id FROM providers WHERE name = 'Zz Summary Provider'");
    await t.dataSource.query("INSERT INTO tags (name) VALUES ('Zz Summary Tag')");
    const [{ id: tagId }] = await t.dataSource.query("SELECT id FROM tags WHERE name = 'Zz Summary Tag'");

    // The patients exist before the summary is kept (the migration's backfill has their rows).
    const active = await createPortalPatient(t, { firstName: 'Ada', lastName: 'Zzsummary', accessEnabled: false });
    const bounced = await createPortalPatient(t, { firstName: 'Ben', lastName: 'Zzsummary' });
    const disabled = await createPortalPatient(t, { firstName: 'Cal', lastName: 'Zzsummary' });
    const edited = await createPortalPatient(t, { firstName: 'Dee', lastName: 'Zzsummary' });
    const untouched = await createPortalPatient(t, { firstName: 'Eve', lastName: 'Zzsummary' });
    await rebuildActivationFunnel(t);

    // Ada: enabled, invited, delivered, opened, set up, signed in — each through the app.
    await access.enable([active.id], context);
    await invitations.sendInvites([active.id, bounced.id, disabled.id], context);
    const before = smtp.received.length;
    await sender.drainOnce();
    const mail = await smtp.waitForMailTo(String(active.email), before);
    await smtp.waitForMailTo(String(disabled.email), before);
    const link = await linkFrom(smtp, mail, BASE_URL);
    const agent = request.agent(t.server);
    const opened = await agent.get(link.path).expect(303);
    await answerIdentityCheck(agent, 'invite');
    const form = await agent.get(opened.headers.location).expect(200);
    await agent
      .post(opened.headers.location)
      .type('form')
      .send({ _csrf: csrfTokenOf(form.text), username: 'ada.summary', password: PASSWORD, confirmPassword: PASSWORD })
      .expect(303);
    const login = await agent.get('/portal/login').expect(200);
    await agent
      .post('/portal/login')
      .type('form')
      .send({ _csrf: csrfTokenOf(login.text), username: 'ada.summary', password: PASSWORD })
      .expect(303);

    // Ben: delivered, then a hard bounce takes the delivery back.
    const [{ id: bouncedEmail }] = await t.dataSource.query('SELECT id FROM mail_outbox WHERE patient_id = ?', [bounced.id]);
    await runInTransaction(t.dataSource, (tx) =>
      outbox.recordBounce(String(bouncedEmail), 'hard', '5.1.1 no such user', new Date(), tx),
    );

    // Cal: delivered and opened, then access disabled.
    const calMail = smtp.received.find((m) => m.to.includes(String(disabled.email)))!;
    await request
      .agent(t.server)
      .get((await linkFrom(smtp, calMail, BASE_URL)).path)
      .expect(303);
    const [{ version }] = await t.dataSource.query('SELECT version FROM portal_accounts WHERE patient_id = ?', [disabled.id]);
    await admin.disable(disabled.id, 'Requested by the patient', Number(version), context);

    // Dee: a new provider and tag, then an invite still queued.
    const [{ version: patientVersion }] = await t.dataSource.query('SELECT version FROM patients WHERE id = ?', [edited.id]);
    await patientsService.updateDetails(
      edited.id,
      {
        firstName: 'Dee',
        lastName: 'Zzsummary',
        dateOfBirth: DEFAULT_BIRTH_DATE,
        primaryProviderId: Number(providerId),
        tagIds: [Number(tagId)],
        version: Number(patientVersion),
      } as PatientDetailsDto,
      context,
    );
    await invitations.sendInvites([edited.id], context);

    const kept = await summaryOf(t);
    const stageOf = (id: number) => Number(kept.rows.find((row) => Number(row.patient_id) === id)?.stage);
    expect([active, bounced, disabled, edited, untouched].map((p) => stageOf(p.id))).toEqual([6, 2, 0, 2, 1]);
    expect(kept.rows.find((row) => Number(row.patient_id) === edited.id)?.primary_provider_id).toBe(String(providerId));
    expect(kept.tags.filter((row) => Number(row.patient_id) === edited.id)).toEqual([
      { patient_id: String(edited.id), tag_id: String(tagId), stage: '2', span_ms: null },
    ]);
    expect(kept.rows.find((row) => Number(row.patient_id) === active.id)?.span_ms).not.toBeNull();

    await rebuildActivationFunnel(t);
    expect(await summaryOf(t)).toEqual(kept);
  });

  it('counts delivered emails from the sent ids themselves, never by walking every own link', async () => {
    const patient = await createPortalPatient(t);
    const links = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
      SELECT ?, 'invite', CONCAT(?, i), 'plan@example.test', '2030-01-01 00:00:00' FROM n`;
    await t.dataSource.query(`INSERT INTO portal_tokens (patient_id, purpose, token_hash, sent_to, expires_at) ${links}`, [
      patient.id,
      `plan-${patient.id}-`,
    ]);
    await t.dataSource.query(
      `INSERT INTO mail_outbox (patient_id, portal_token_id, kind, to_address, subject, status)
       SELECT patient_id, id, 'invite', sent_to, 'Plan', 'sent' FROM portal_tokens WHERE token_hash LIKE ?`,
      [`plan-${patient.id}-%`],
    );
    const ids = (
      (await t.dataSource.query('SELECT id FROM mail_outbox WHERE patient_id = ? ORDER BY id LIMIT 50', [patient.id])) as Array<{
        id: number;
      }>
    ).map((row) => Number(row.id));
    // 50: one group of sent emails (the sender marks them 50 at a time); a short id list hides the plan.
    const counts = await t.dataSource.query(deliveredByPatientSql(ids.length), ids);
    expect(counts.map((row: { patient_id: unknown; n: unknown }) => [Number(row.patient_id), Number(row.n)])).toEqual([
      [patient.id, 50],
    ]);
    if (isSqliteManager(t.dataSource)) {
      const plan = (await t.dataSource.query(`EXPLAIN QUERY PLAN ${deliveredByPatientSql(ids.length)}`, ids)) as Array<{
        detail: string;
      }>;
      // The outbox row by its id first, then its link by id: no pass over the links' representative index.
      expect(plan.map((step) => step.detail).slice(0, 2)).toEqual([
        'SEARCH o USING INTEGER PRIMARY KEY (rowid=?)',
        'SEARCH t USING INTEGER PRIMARY KEY (rowid=?)',
      ]);
    }
  });
});
