import { DataSource } from 'typeorm';
import { STATUS_COMBINATIONS } from './portal-status.fixtures';
import {
  INVITE_PROBLEMS,
  inviteProblem,
  inviteProblemConditionSql,
  inviteProblemFieldsSql,
  PORTAL_STATUSES,
  portalStatus,
  portalStatusConditionSql,
  portalStatusSql,
  type InviteProblem,
  type PortalStatus,
} from '../../src/portal-access/portal-status';

describe('portalStatus', () => {
  it('follows the colour table of DESIGN.md', () => {
    expect(portalStatus(null)).toBe('red');
    expect(portalStatus({ accessEnabled: false, invitedAt: new Date(), firstLoginAt: new Date() })).toBe('red');
    expect(portalStatus({ accessEnabled: true, invitedAt: null, firstLoginAt: null })).toBe('gray');
    expect(portalStatus({ accessEnabled: true, invitedAt: new Date(), firstLoginAt: null })).toBe('orange');
    expect(portalStatus({ accessEnabled: true, invitedAt: new Date(), firstLoginAt: new Date() })).toBe('green');
    // A login without a recorded invite (e.g. imported accounts) is still green.
    expect(portalStatus({ accessEnabled: true, invitedAt: null, firstLoginAt: new Date() })).toBe('green');
  });

  it('agrees with the SQL CASE expression and with exactly one filter condition on every combination', async () => {
    const db = new DataSource({ type: 'better-sqlite3', database: ':memory:' });
    await db.initialize();
    await db.query(
      'CREATE TABLE portal_accounts (patient_id INTEGER PRIMARY KEY, access_enabled BOOLEAN, invited_at DATETIME, first_login_at DATETIME)',
    );
    for (const [i, c] of STATUS_COMBINATIONS.entries()) {
      await db.query('INSERT INTO portal_accounts VALUES (?, ?, ?, ?)', [
        i + 1,
        c.accessEnabled ? 1 : 0,
        c.invitedAt,
        c.firstLoginAt,
      ]);
    }
    const sqlStatus = new Map(
      (
        (await db.query(`SELECT patient_id, ${portalStatusSql('pa')} AS status FROM portal_accounts pa`)) as {
          patient_id: number;
          status: string;
        }[]
      ).map((r) => [r.patient_id, r.status]),
    );
    const byCondition = new Map<number, PortalStatus[]>();
    for (const status of PORTAL_STATUSES) {
      for (const row of (await db.query(
        `SELECT patient_id FROM portal_accounts pa WHERE ${portalStatusConditionSql(status, 'pa')}`,
      )) as { patient_id: number }[]) {
        byCondition.set(row.patient_id, [...(byCondition.get(row.patient_id) ?? []), status]);
      }
    }
    STATUS_COMBINATIONS.forEach((c, i) => {
      const expected = portalStatus(c);
      expect({ combination: c, sql: sqlStatus.get(i + 1) }).toEqual({ combination: c, sql: expected });
      expect({ combination: c, conditions: byCondition.get(i + 1) }).toEqual({ combination: c, conditions: [expected] });
    });
    await db.destroy();
  });
});

describe('inviteProblem (expired or failed invites of orange patients)', () => {
  const now = new Date('2026-06-01T12:00:00Z');
  const past = '2026-05-01 00:00:00';
  const future = '2026-07-01 00:00:00';
  const links = [
    null,
    { expires: past, used: null, revoked: null },
    { expires: future, used: null, revoked: null },
    { expires: past, used: '2026-04-30 00:00:00', revoked: null },
    { expires: past, used: null, revoked: '2026-04-30 00:00:00' },
  ];
  const emails = [null, 'pending', 'sent', 'failed'];
  const cases = PORTAL_STATUSES.flatMap((status) => links.flatMap((link) => emails.map((email) => ({ status, link, email }))));

  it('names the problem only for orange patients, a failed email before an expired link', () => {
    expect(
      inviteProblem('orange', { linkExpiresAt: past, linkUsedAt: null, linkRevokedAt: null, emailStatus: 'sent' }, now),
    ).toBe('expired');
    expect(
      inviteProblem('orange', { linkExpiresAt: future, linkUsedAt: null, linkRevokedAt: null, emailStatus: 'sent' }, now),
    ).toBeNull();
    expect(
      inviteProblem('orange', { linkExpiresAt: past, linkUsedAt: null, linkRevokedAt: null, emailStatus: 'failed' }, now),
    ).toBe('failed');
    expect(
      inviteProblem('orange', { linkExpiresAt: past, linkUsedAt: past, linkRevokedAt: null, emailStatus: 'sent' }, now),
    ).toBeNull();
    expect(
      inviteProblem('green', { linkExpiresAt: past, linkUsedAt: null, linkRevokedAt: null, emailStatus: 'failed' }, now),
    ).toBeNull();
  });

  it('agrees with its SQL condition and its row columns on every combination (latest link and latest email win)', async () => {
    const db = new DataSource({ type: 'better-sqlite3', database: ':memory:' });
    await db.initialize();
    await db.query(
      'CREATE TABLE portal_accounts (patient_id INTEGER PRIMARY KEY, access_enabled BOOLEAN, invited_at DATETIME, first_login_at DATETIME)',
    );
    await db.query(
      'CREATE TABLE portal_tokens (id INTEGER PRIMARY KEY AUTOINCREMENT, patient_id INTEGER, expires_at DATETIME, used_at DATETIME, revoked_at DATETIME, representative_account_id INTEGER)',
    );
    await db.query('CREATE TABLE mail_outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, patient_id INTEGER, kind TEXT, status TEXT)');
    const colour = { red: [0, null, null], gray: [1, null, null], orange: [1, past, null], green: [1, past, past] } as const;
    for (const [i, c] of cases.entries()) {
      const id = i + 1;
      await db.query('INSERT INTO portal_accounts VALUES (?, ?, ?, ?)', [id, ...colour[c.status]]);
      // An older link and email that must not count: the latest ones decide.
      await db.query('INSERT INTO portal_tokens (patient_id, expires_at, used_at, revoked_at) VALUES (?, ?, NULL, NULL)', [
        id,
        past,
      ]);
      await db.query("INSERT INTO mail_outbox (patient_id, kind, status) VALUES (?, 'portal_invite', 'failed')", [id]);
      if (c.link)
        await db.query('INSERT INTO portal_tokens (patient_id, expires_at, used_at, revoked_at) VALUES (?, ?, ?, ?)', [
          id,
          c.link.expires,
          c.link.used,
          c.link.revoked,
        ]);
      else await db.query('DELETE FROM portal_tokens WHERE patient_id = ?', [id]);
      if (c.email)
        await db.query("INSERT INTO mail_outbox (patient_id, kind, status) VALUES (?, 'portal_invite', ?)", [id, c.email]);
      else await db.query('DELETE FROM mail_outbox WHERE patient_id = ?', [id]);
      // Another kind of email (a notice) is not an invite.
      await db.query("INSERT INTO mail_outbox (patient_id, kind, status) VALUES (?, 'email_changed', 'failed')", [id]);
    }
    const nowSql = '2026-06-01 12:00:00';
    const byCondition = new Map<number, InviteProblem[]>();
    for (const problem of INVITE_PROBLEMS) {
      const condition = inviteProblemConditionSql(problem, nowSql, 'pa');
      for (const row of (await db.query(
        `SELECT patient_id FROM portal_accounts pa WHERE ${condition.sql}`,
        condition.params,
      )) as { patient_id: number }[]) {
        byCondition.set(row.patient_id, [...(byCondition.get(row.patient_id) ?? []), problem]);
      }
    }
    const fields = inviteProblemFieldsSql('pa');
    const rows: Record<string, string | null>[] = await db.query(
      `SELECT pa.patient_id, ${fields.columns} FROM portal_accounts pa ${fields.join} ORDER BY pa.patient_id`,
    );
    let problems = 0;
    cases.forEach((c, i) => {
      const row = rows[i];
      const pure = inviteProblem(
        c.status,
        {
          linkExpiresAt: row.link_expires_at,
          linkUsedAt: row.link_used_at,
          linkRevokedAt: row.link_revoked_at,
          emailStatus: row.email_status || null,
        },
        now,
      );
      const expected =
        c.status === 'orange'
          ? c.email === 'failed'
            ? 'failed'
            : c.link && c.link.expires === past && !c.link.used && !c.link.revoked
              ? 'expired'
              : null
          : null;
      expect({ c, pure }).toEqual({ c, pure: expected });
      expect({ c, sql: byCondition.get(i + 1) ?? [] }).toEqual({ c, sql: expected ? [expected] : [] });
      if (expected) problems++;
    });
    expect(problems).toBeGreaterThan(4);
    await db.destroy();
  });
});
