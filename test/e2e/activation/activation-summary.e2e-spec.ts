import type { AuditContext } from '../../../src/audit/audit-context';
import {
  ActivationReportRepository,
  type FunnelCounts,
  type ReportGrouping,
} from '../../../src/activation/activation-report.repository';
import { RemindersRepository } from '../../../src/activation/reminders.repository';
import { WorklistService } from '../../../src/activation/worklist.service';
import { fromSqlDateTime, toSqlDateTime } from '../../../src/database/sql';
import { MailSenderService } from '../../../src/invitations/mail/mail-sender.service';
import { InvitationsService } from '../../../src/portal-access/invitations.service';
import { FUNNEL_STAGES, type FunnelStage } from '../../../src/portal-access/activation-filters';
import { backfillActivationSummary } from '../../../migrations/1767700000000-ActivationSummary';
import { addPatient, totalOf } from '../staff/onboarding-fixtures';
import { createStaffUser, signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

type Row = Record<string, unknown>;
const GROUPINGS: Array<ReportGrouping | 'total'> = ['total', 'provider', 'tag', 'month'];

/** A small deterministic generator (the data set is varied but the same on every run). */
function random(seed: number) {
  let state = seed;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
  return { chance: (p: number) => next() < p, pick: <T>(items: readonly T[]) => items[Math.floor(next() * items.length)], next };
}

/**
 * The funnel straight from the raw tables, in plain code (no SQL beyond reading the rows): the definition the
 * report had before the summary existed, with a representative's links left out (they are not the patient's own).
 */
async function straightFunnel(t: TestApp, grouping: ReportGrouping | 'total'): Promise<FunnelCounts[]> {
  const q = (sql: string) => t.dataSource.query(sql) as Promise<Row[]>;
  const [patients, accounts, tokens, outbox, providers, tags, patientTags] = await Promise.all([
    q('SELECT id, primary_provider_id FROM patients'),
    q('SELECT patient_id, access_enabled, username, first_login_at FROM portal_accounts'),
    q('SELECT id, patient_id, purpose, created_at, opened_at, used_at, representative_account_id FROM portal_tokens'),
    q('SELECT portal_token_id, status FROM mail_outbox'),
    q('SELECT id, name FROM providers'),
    q('SELECT id, name FROM tags'),
    q('SELECT patient_id, tag_id FROM patient_tags'),
  ]);
  const time = (value: unknown) => fromSqlDateTime(value as string | Date | null)?.getTime() ?? null;
  const min = (values: Array<number | null>) =>
    values.filter((v): v is number => v !== null).reduce<number | null>((a, b) => (a === null || b < a ? b : a), null);
  const sentTokens = new Set(outbox.filter((o) => o.status === 'sent').map((o) => String(o.portal_token_id)));
  const providerName = new Map(providers.map((p) => [String(p.id), String(p.name)]));
  const tagName = new Map(tags.map((tag) => [String(tag.id), String(tag.name)]));
  const groups = new Map<string | null, FunnelCounts>();
  for (const account of accounts) {
    if (!(Number(account.access_enabled) === 1 || account.access_enabled === true)) continue;
    const id = String(account.patient_id);
    const own = tokens.filter((tk) => String(tk.patient_id) === id && tk.representative_account_id === null);
    const firstInvite = min(own.filter((tk) => tk.purpose === 'invite').map((tk) => time(tk.created_at)));
    const firstUsed = min(own.map((tk) => time(tk.used_at)));
    const reached: Record<FunnelStage, boolean> = { enabled: true } as Record<FunnelStage, boolean>;
    reached.invited = firstInvite !== null;
    reached.delivered = reached.invited && own.some((tk) => sentTokens.has(String(tk.id)));
    reached.opened = reached.delivered && own.some((tk) => tk.opened_at !== null);
    reached.set_up = reached.opened && account.username !== null;
    reached.signed_in = reached.set_up && account.first_login_at !== null;
    const patient = patients.find((p) => String(p.id) === id)!;
    const keys: Array<[string | null, string]> =
      grouping === 'total'
        ? [[null, 'All patients']]
        : grouping === 'provider'
          ? patient.primary_provider_id === null
            ? [[null, '']]
            : [[String(patient.primary_provider_id), providerName.get(String(patient.primary_provider_id))!]]
          : grouping === 'tag'
            ? patientTags
                .filter((pt) => String(pt.patient_id) === id)
                .map((pt) => [String(pt.tag_id), tagName.get(String(pt.tag_id))!])
            : firstInvite === null
              ? [[null, '']]
              : [[new Date(firstInvite).toISOString().slice(0, 7), new Date(firstInvite).toISOString().slice(0, 7)]];
    for (const [key, label] of keys) {
      if (!groups.has(key))
        groups.set(key, {
          key,
          label,
          counts: Object.fromEntries(FUNNEL_STAGES.map((s) => [s, 0])) as Record<FunnelStage, number>,
          setUpDays: [],
        });
      const group = groups.get(key)!;
      for (const stage of FUNNEL_STAGES) if (reached[stage]) group.counts[stage]++;
      if (reached.set_up && firstUsed !== null) group.setUpDays.push(Math.max(0, (firstUsed - firstInvite!) / 86_400_000));
    }
  }
  return [...groups.values()];
}

/** Order-free form of a funnel, so the two computations compare as plain data. */
const normalise = (groups: FunnelCounts[]) =>
  groups
    .map((g) => ({ ...g, setUpDays: [...g.setUpDays].sort((a, b) => a - b) }))
    .sort((a, b) => String(a.key).localeCompare(String(b.key)));

describe('the activation summary', () => {
  let t: TestApp;
  let report: ActivationReportRepository;
  let context: AuditContext;

  beforeAll(async () => {
    t = await startTestApp({ REMINDER_INTERVAL_SECONDS: '0' });
    report = t.app.get(ActivationReportRepository);
    const user = await createStaffUser(t);
    context = { actorType: 'staff', actorId: user.id, actorLabel: user.email, ip: '127.0.0.1', userAgent: 'jest' };
  });
  afterAll(async () => t.close());

  const insertId = async (table: string, where: string, params: unknown[]) =>
    Number((await t.dataSource.query(`SELECT MAX(id) AS id FROM ${table} WHERE ${where}`, params))[0].id);

  it('gives the same report as a straight computation from the raw tables after a varied history, and after a fresh backfill', async () => {
    const r = random(17);
    const providers: number[] = [];
    for (const name of ['Sum Provider A', 'Sum Provider B', 'Sum Provider C']) {
      await t.dataSource.query('INSERT INTO providers (name, active) VALUES (?, 1)', [name]);
      providers.push(await insertId('providers', 'name = ?', [name]));
    }
    const tags: number[] = [];
    for (const name of ['Sum Tag A', 'Sum Tag B']) {
      await t.dataSource.query('INSERT INTO tags (name) VALUES (?)', [name]);
      tags.push(await insertId('tags', 'name = ?', [name]));
    }
    const now = toSqlDateTime(new Date());
    await t.dataSource.query(
      "INSERT INTO representative_accounts (email_key, email, full_name, created_at, updated_at) VALUES ('sum.rep@example.test', 'sum.rep@example.test', 'Sum Rep', ?, ?)",
      [now, now],
    );
    const rep = await insertId('representative_accounts', "email_key = 'sum.rep@example.test'", []);

    // Patients in every colour, with and without provider and tags.
    const ids: number[] = [];
    for (let i = 0; i < 60; i++) {
      const status = r.pick(['red', 'gray', 'gray', 'orange', 'orange', 'green'] as const);
      const id = await addPatient(t, {
        lastName: `Zzsum${i}`,
        status,
        providerId: r.chance(0.8) ? r.pick(providers) : null,
      });
      for (const tag of tags)
        if (r.chance(0.4)) await t.dataSource.query('INSERT INTO patient_tags (patient_id, tag_id) VALUES (?, ?)', [id, tag]);
      ids.push(id);
    }
    // Links of every purpose (some a representative's), with emails in every status, written as rows.
    const links: Array<{ id: number; patientId: number; createdAt: Date; outbox: number | null }> = [];
    let n = 0;
    for (const patientId of ids) {
      const count = Math.floor(r.next() * 4);
      for (let k = 0; k < count; k++) {
        const purpose = r.pick(['invite', 'invite', 'invite', 'reset', 'clinic', 'letter'] as const);
        const representative = r.chance(0.2) ? rep : null;
        const createdAt = new Date(
          Date.UTC(2026, 8 + Math.floor(r.next() * 3), 1 + Math.floor(r.next() * 28), Math.floor(r.next() * 24)),
        );
        const hash = `summary-${String(++n).padStart(6, '0')}`.padEnd(64, 'x');
        await t.dataSource.query(
          'INSERT INTO portal_tokens (patient_id, purpose, token_hash, sent_to, created_at, expires_at, issued_by, representative_account_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
          [patientId, purpose, hash, 'x@example.test', toSqlDateTime(createdAt), '2027-06-01 00:00:00', 'staff', representative],
        );
        const id = await insertId('portal_tokens', 'token_hash = ?', [hash]);
        let outbox: number | null = null;
        if (purpose === 'invite' || purpose === 'reset') {
          const kind = representative ? `representative_${purpose}` : `portal_${purpose}`;
          const status = r.chance(0.2) ? 'sent' : 'pending';
          await t.dataSource.query(
            'INSERT INTO mail_outbox (patient_id, portal_token_id, kind, to_address, subject, status, attempts, next_attempt_at, created_at, sent_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)',
            [
              patientId,
              id,
              kind,
              'x@example.test',
              'Invite',
              status,
              toSqlDateTime(createdAt),
              toSqlDateTime(createdAt),
              status === 'sent' ? toSqlDateTime(createdAt) : null,
            ],
          );
          outbox = await insertId('mail_outbox', 'portal_token_id = ?', [id]);
        }
        links.push({ id, patientId, createdAt, outbox });
      }
    }
    // Then what happens to them, in a shuffled order: delivery, failure, bounce, openings, set-ups,
    // sign-ins, access switched off and on, a provider change, a link's clock moved back.
    const at = (link: { createdAt: Date }, hours: number) =>
      toSqlDateTime(new Date(link.createdAt.getTime() + hours * 3_600_000));
    const events: Array<() => Promise<unknown>> = [];
    for (const link of links) {
      if (link.outbox !== null) {
        const outcome = r.pick(['sent', 'sent', 'sent', 'failed', 'cancelled', 'pending'] as const);
        events.push(async () => {
          await t.dataSource.query("UPDATE mail_outbox SET status = 'sending' WHERE id = ? AND status = 'pending'", [
            link.outbox,
          ]);
          await t.dataSource.query('UPDATE mail_outbox SET status = ? WHERE id = ?', [outcome, link.outbox]);
          if (outcome === 'sent' && r.chance(0.2))
            await t.dataSource.query("UPDATE mail_outbox SET status = 'bounced', bounce_kind = 'hard' WHERE id = ?", [
              link.outbox,
            ]);
        });
      }
      if (r.chance(0.5))
        events.push(() => t.dataSource.query('UPDATE portal_tokens SET opened_at = ? WHERE id = ?', [at(link, 2), link.id]));
      if (r.chance(0.3))
        events.push(() =>
          t.dataSource.query('UPDATE portal_tokens SET used_at = ? WHERE id = ?', [at(link, 30 + r.next() * 200), link.id]),
        );
      if (r.chance(0.1))
        events.push(() => t.dataSource.query('UPDATE portal_tokens SET created_at = ? WHERE id = ?', [at(link, -240), link.id]));
      if (r.chance(0.3))
        events.push(() => t.dataSource.query('UPDATE portal_tokens SET revoked_at = ? WHERE id = ?', [at(link, 5), link.id]));
    }
    for (const patientId of ids) {
      if (r.chance(0.15))
        events.push(() =>
          t.dataSource.query('UPDATE portal_accounts SET access_enabled = 1 - access_enabled WHERE patient_id = ?', [patientId]),
        );
      if (r.chance(0.2))
        events.push(() =>
          t.dataSource.query('UPDATE portal_accounts SET username = ? WHERE patient_id = ?', [
            `sum.user.${patientId}`,
            patientId,
          ]),
        );
      if (r.chance(0.2))
        events.push(() =>
          t.dataSource.query('UPDATE portal_accounts SET first_login_at = ? WHERE patient_id = ?', [now, patientId]),
        );
      if (r.chance(0.1))
        events.push(() =>
          t.dataSource.query('UPDATE portal_accounts SET last_login_at = ? WHERE patient_id = ?', [now, patientId]),
        );
      if (r.chance(0.1))
        events.push(() =>
          t.dataSource.query('UPDATE patients SET primary_provider_id = ? WHERE id = ?', [
            r.pick([...providers, null]),
            patientId,
          ]),
        );
    }
    for (let i = events.length - 1; i > 0; i--) {
      const j = Math.floor(r.next() * (i + 1));
      [events[i], events[j]] = [events[j], events[i]];
    }
    for (const event of events) await event();
    // And the app's own paths: a bulk invite through the outbox, delivered by the sender (mail files).
    const gray = (
      await t.dataSource.query(
        "SELECT pa.patient_id FROM portal_accounts pa JOIN patients p ON p.id = pa.patient_id WHERE pa.access_enabled = 1 AND pa.invited_at IS NULL AND p.last_name LIKE 'Zzsum%'",
      )
    ).map((row: Row) => Number(row.patient_id));
    expect(gray.length).toBeGreaterThan(2);
    await t.app.get(InvitationsService).sendInvites(gray, context, { bulk: true });
    await t.app.get(MailSenderService).drainOnce();

    const compare = async () => {
      for (const grouping of GROUPINGS) {
        const [fromSummary, straight] = await Promise.all([report.funnel(grouping), straightFunnel(t, grouping)]);
        expect({ grouping, groups: normalise(fromSummary) }).toEqual({
          grouping,
          groups: normalise(straight.filter((g) => g.counts.enabled > 0 || g.counts.invited > 0)),
        });
      }
    };
    await compare();
    // Every stage has patients in it, so the comparison above compared something at each step.
    const [total] = await report.funnel('total');
    for (const stage of FUNNEL_STAGES)
      expect({ stage, count: total.counts[stage] }).toEqual({ stage, count: expect.any(Number) });
    expect(total.counts.signed_in).toBeGreaterThan(0);
    expect(total.counts.opened).toBeLessThan(total.counts.delivered);

    // The rows the triggers kept are exactly the rows a fresh backfill computes.
    const snapshot = async () =>
      (await t.dataSource.query('SELECT * FROM activation_summary ORDER BY patient_id')).map((row: Row) =>
        Object.fromEntries(
          Object.entries(row).map(([k, v]) => [k, v === null ? null : v instanceof Date ? toSqlDateTime(v) : String(v)]),
        ),
      );
    const kept = await snapshot();
    const runner = t.dataSource.createQueryRunner();
    try {
      await backfillActivationSummary(runner);
    } finally {
      await runner.release();
    }
    expect(await snapshot()).toEqual(kept);
    await compare();
  });

  it("never counts a representative's links as the patient's own: report, onboarding filter, worklist, reminders", async () => {
    const staff = await signInAs(t);
    const now = new Date();
    const daysAgo = (days: number) => toSqlDateTime(new Date(now.getTime() - days * 86_400_000));
    await t.dataSource.query(
      "INSERT INTO representative_accounts (email_key, email, full_name, created_at, updated_at) VALUES ('own.rep@example.test', 'own.rep@example.test', 'Own Rep', ?, ?)",
      [daysAgo(0), daysAgo(0)],
    );
    const rep = await insertId('representative_accounts', "email_key = 'own.rep@example.test'", []);
    await t.dataSource.query("INSERT INTO providers (name, active) VALUES ('Own Provider', 1)");
    const provider = await insertId('providers', "name = 'Own Provider'", []);
    let n = 0;
    const link = async (patientId: number, representative: number | null, createdDaysAgo: number, used: boolean) => {
      const hash = `own-${String(++n).padStart(6, '0')}`.padEnd(64, 'x');
      await t.dataSource.query(
        "INSERT INTO portal_tokens (patient_id, purpose, token_hash, sent_to, created_at, expires_at, opened_at, used_at, issued_by, representative_account_id) VALUES (?, 'invite', ?, 'x@example.test', ?, ?, ?, ?, 'staff', ?)",
        [
          patientId,
          hash,
          daysAgo(createdDaysAgo),
          daysAgo(-30),
          daysAgo(createdDaysAgo - 0.1),
          used ? daysAgo(createdDaysAgo - 0.5) : null,
          representative,
        ],
      );
      const id = await insertId('portal_tokens', 'token_hash = ?', [hash]);
      await t.dataSource.query(
        "INSERT INTO mail_outbox (patient_id, portal_token_id, kind, to_address, subject, status, attempts, next_attempt_at, created_at, sent_at) VALUES (?, ?, ?, 'x@example.test', 'Invite', 'sent', 1, ?, ?, ?)",
        [
          patientId,
          id,
          representative ? 'representative_invite' : 'portal_invite',
          daysAgo(createdDaysAgo),
          daysAgo(createdDaysAgo),
          daysAgo(createdDaysAgo),
        ],
      );
    };
    // onlyRep: enabled, never invited themselves; their representative was invited 10 days ago and set up.
    const onlyRep = await addPatient(t, { lastName: 'Zzownrep', status: 'gray', providerId: provider });
    await link(onlyRep, rep, 10, true);
    // both: invited 10 days ago (their own link, not used); the representative's link was used.
    const both = await addPatient(t, { lastName: 'Zzownboth', status: 'orange', providerId: provider });
    await t.dataSource.query('UPDATE portal_accounts SET invited_at = ? WHERE patient_id = ?', [daysAgo(10), both]);
    await link(both, null, 10, false);
    await link(both, rep, 9, true);

    const group = (await report.funnel('provider')).find((g) => g.key === String(provider))!;
    expect(group.counts).toEqual({ enabled: 2, invited: 1, delivered: 1, opened: 1, set_up: 0, signed_in: 0 });
    const listed = async (query: string) =>
      totalOf((await staff.get(`/portal-onboarding?provider=${provider}&${query}`).set('HX-Request', 'true').expect(200)).text);
    expect(await listed('funnel=invited')).toBe(1);
    expect(await listed('funnel=opened')).toBe(1);
    expect(await listed('worklist=invited_7d')).toBe(1);
    const invited7d = (await t.app.get(WorklistService).views()).find((view) => view.view === 'invited_7d')!;
    const rows = await t.app.get(WorklistService).rows('invited_7d');
    expect(rows.map((row) => row.id)).toContain(both);
    expect(rows.map((row) => row.id)).not.toContain(onlyRep);
    expect(invited7d.count).toBeGreaterThan(0);
    const candidates = await t.app.get(RemindersRepository).candidates();
    expect(candidates.map((c) => c.patientId)).toContain(both);
    expect(candidates.map((c) => c.patientId)).not.toContain(onlyRep);
    // The reminder counts from the patient's own invite, not the representative's later one.
    expect(candidates.find((c) => c.patientId === both)!.invitedAt.getTime()).toBe(fromSqlDateTime(daysAgo(10))!.getTime());
  });
});
