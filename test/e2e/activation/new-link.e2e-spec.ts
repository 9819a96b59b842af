import request from 'supertest';
import type { AuditContext } from '../../../src/audit/audit-context';
import { InvitationsService } from '../../../src/portal-access/invitations.service';
import { MailSenderService } from '../../../src/invitations/mail/mail-sender.service';
import { NEW_LINKS_PER_DAY } from '../../../src/portal/new-link.service';
import { csrfTokenOf } from '../../support/html';
import { createPortalPatient } from '../../support/portal-patients';
import { linkFrom, startSmtpServer, TestSmtpServer } from '../../support/smtp-server';
import { createStaffUser } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

const BASE_URL = 'https://portal.clinic.test';

describe('"Send me a new link" on a dead link\'s page', () => {
  let smtp: TestSmtpServer;
  let t: TestApp;
  let invitations: InvitationsService;
  let sender: MailSenderService;
  let context: AuditContext;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    t = await startTestApp({ SMTP_URL: smtp.url, PUBLIC_BASE_URL: BASE_URL, REMINDER_INTERVAL_SECONDS: '0' });
    invitations = t.app.get(InvitationsService);
    sender = t.app.get(MailSenderService);
    const user = await createStaffUser(t);
    context = { actorType: 'staff', actorId: user.id, actorLabel: user.email, ip: '127.0.0.1', userAgent: 'jest' };
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  async function invitedWithLink(lastName: string) {
    const patient = await createPortalPatient(t, { firstName: 'Nia', lastName });
    const before = smtp.received.length;
    await invitations.sendInvites([patient.id], context);
    await sender.drainOnce();
    return { patient, link: await linkFrom(smtp, await smtp.waitForMailTo(String(patient.email), before), BASE_URL) };
  }
  const expire = (patientId: number) =>
    t.dataSource.query(
      "UPDATE portal_tokens SET expires_at = '2026-01-01 00:00:00', created_at = '2025-12-25 00:00:00' WHERE patient_id = ?",
      [patientId],
    );

  /** Opens the (dead) link, presses the button; returns what the patient saw. */
  async function askForNewLink(path: string) {
    const agent = request.agent(t.server);
    const page = await agent.get(path).expect(410);
    expect(page.text).toContain('Send me a new link');
    const answer = await agent
      .post('/portal/new-link')
      .type('form')
      .send({ _csrf: csrfTokenOf(page.text) })
      .expect(303);
    const shown = await agent.get(answer.headers.location).expect(200);
    return {
      location: answer.headers.location as string,
      body: shown.text.replace(/nonce="[^"]*"|"X-CSRF-Token": *"[^"]*"|name="_csrf" value="[^"]*"/g, ''),
    };
  }
  const mailsTo = (address: string | null) => smtp.received.filter((mail) => mail.to.includes(String(address))).length;

  const sqlTime = (msAgo: number) => new Date(Date.now() - msAgo).toISOString().slice(0, 19).replace('T', ' ');
  const tokenCount = async (patientId: number) =>
    Number((await t.dataSource.query('SELECT COUNT(*) AS n FROM portal_tokens WHERE patient_id = ?', [patientId]))[0].n);
  const lastRequest = async (patientId: number) =>
    (
      await t.dataSource.query(
        "SELECT outcome, details FROM audit_events WHERE action = 'portal.new_link_requested' AND patient_id = ? ORDER BY id DESC LIMIT 1",
        [patientId],
      )
    )[0] as { outcome: string; details: unknown };

  it('sends a fresh invite to the address on file from an expired link, audited', async () => {
    const { patient, link } = await invitedWithLink('Zznewlink');
    await expire(patient.id);
    const before = smtp.received.length;
    const answer = await askForNewLink(link.path);
    expect(answer.location).toBe('/portal/new-link/sent');
    await sender.drainOnce();
    const mail = await smtp.waitForMailTo(String(patient.email), before);
    const fresh = await linkFrom(smtp, mail, BASE_URL);
    await request.agent(t.server).get(fresh.path).expect(303);
    const [token] = await t.dataSource.query(
      'SELECT issued_by FROM portal_tokens WHERE patient_id = ? AND revoked_at IS NULL ORDER BY id DESC LIMIT 1',
      [patient.id],
    );
    expect(token.issued_by).toBe('patient');
    expect((await lastRequest(patient.id)).outcome).toBe('success');
  });

  it('sends at most 3 a day per account; a changed address or an unknown link get the same answer and no email', async () => {
    const { patient, link } = await invitedWithLink('Zzcap');
    await expire(patient.id);
    // Three links the patient asked for within the last day (hand-built, an hour old).
    for (let i = 0; i < NEW_LINKS_PER_DAY; i++)
      await t.dataSource.query(
        "INSERT INTO portal_tokens (patient_id, purpose, token_hash, sent_to, created_at, expires_at, issued_by, revoked_at, revoked_reason) VALUES (?, 'invite', ?, ?, ?, ?, 'patient', ?, 'superseded')",
        [
          patient.id,
          `${patient.id}-cap-${i}`.padEnd(64, 'f'),
          patient.email,
          sqlTime(3_600_000),
          sqlTime(-86_400_000),
          sqlTime(3_000_000),
        ],
      );
    const tokens = await tokenCount(patient.id);
    const capped = await askForNewLink(link.path);
    expect(await tokenCount(patient.id)).toBe(tokens);
    expect(await lastRequest(patient.id)).toMatchObject({ outcome: 'denied' });
    expect(JSON.stringify((await lastRequest(patient.id)).details)).toContain('throttled');
    // A rolling day: once those are older than 24 hours, a request goes through again.
    await t.dataSource.query("UPDATE portal_tokens SET created_at = ? WHERE patient_id = ? AND issued_by = 'patient'", [
      sqlTime(25 * 3_600_000),
      patient.id,
    ]);
    const allowed = await askForNewLink(link.path);
    expect(await tokenCount(patient.id)).toBe(tokens + 1);

    const moved = await invitedWithLink('Zzmoved');
    await expire(moved.patient.id);
    await t.dataSource.query("UPDATE patients SET email = 'typed.elsewhere@example.test' WHERE id = ?", [moved.patient.id]);
    const movedTokens = await tokenCount(moved.patient.id);
    const movedAnswer = await askForNewLink(moved.link.path);
    const unknownAnswer = await askForNewLink('/portal/invite/' + 'A'.repeat(43));
    await sender.drainOnce();
    expect(await tokenCount(moved.patient.id)).toBe(movedTokens);
    expect(mailsTo('typed.elsewhere@example.test')).toBe(0);
    expect(JSON.stringify((await lastRequest(moved.patient.id)).details)).toContain('address_changed');
    for (const answer of [allowed, movedAnswer, unknownAnswer]) expect(answer).toEqual(capped);
  });

  it('keeps the cap when 10 requests arrive at once: one email queued, nine refused as over the cap', async () => {
    const { patient, link } = await invitedWithLink('Zzconcurrent');
    await expire(patient.id);
    // Two of the three a day already used (an hour old, so the 10-second repeat window plays no part).
    for (let i = 0; i < NEW_LINKS_PER_DAY - 1; i++)
      await t.dataSource.query(
        "INSERT INTO portal_tokens (patient_id, purpose, token_hash, sent_to, created_at, expires_at, issued_by, revoked_at, revoked_reason) VALUES (?, 'invite', ?, ?, ?, ?, 'patient', ?, 'superseded')",
        [
          patient.id,
          `${patient.id}-race-${i}`.padEnd(64, 'e'),
          patient.email,
          sqlTime(3_600_000),
          sqlTime(-86_400_000),
          sqlTime(3_000_000),
        ],
      );
    const emails = async () =>
      Number(
        (
          await t.dataSource.query("SELECT COUNT(*) AS n FROM mail_outbox WHERE patient_id = ? AND kind = 'portal_invite'", [
            patient.id,
          ])
        )[0].n,
      );
    const emailsBefore = await emails();
    const tokensBefore = await tokenCount(patient.id);
    const auditBefore = Number((await t.dataSource.query('SELECT MAX(id) AS id FROM audit_events'))[0].id);
    // Ten browsers on the dead link's page, then all ten press the button together.
    const agents = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const agent = request.agent(t.server);
        const page = await agent.get(link.path).expect(410);
        return { agent, csrf: csrfTokenOf(page.text) };
      }),
    );
    const answers = await Promise.all(
      agents.map(({ agent, csrf }) => agent.post('/portal/new-link').type('form').send({ _csrf: csrf }).expect(303)),
    );
    expect(new Set(answers.map((answer) => answer.headers.location))).toEqual(new Set(['/portal/new-link/sent']));
    expect(await tokenCount(patient.id)).toBe(tokensBefore + 1);
    expect(await emails()).toBe(emailsBefore + 1);
    const outcomes: Array<{ outcome: string; details: unknown }> = await t.dataSource.query(
      "SELECT outcome, details FROM audit_events WHERE action = 'portal.new_link_requested' AND patient_id = ? AND id > ?",
      [patient.id, auditBefore],
    );
    const reasons = outcomes.map((row) =>
      row.outcome === 'success'
        ? 'success'
        : String((typeof row.details === 'string' ? JSON.parse(row.details) : row.details)?.reason),
    );
    expect(reasons.sort()).toEqual(['success', ...Array.from({ length: 9 }, () => 'throttled')]);
  });
});
