import { DataSource } from 'typeorm';
import { STATUS_COMBINATIONS } from './portal-status.fixtures';
import { PORTAL_STATUSES, portalStatus, portalStatusConditionSql, portalStatusSql, type PortalStatus } from '../../src/portal-access/portal-status';


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
    await db.query('CREATE TABLE portal_accounts (patient_id INTEGER PRIMARY KEY, access_enabled BOOLEAN, invited_at DATETIME, first_login_at DATETIME)');
    for (const [i, c] of STATUS_COMBINATIONS.entries()) {
      await db.query('INSERT INTO portal_accounts VALUES (?, ?, ?, ?)', [i + 1, c.accessEnabled ? 1 : 0, c.invitedAt, c.firstLoginAt]);
    }
    const sqlStatus = new Map(((await db.query(`SELECT patient_id, ${portalStatusSql('pa')} AS status FROM portal_accounts pa`)) as { patient_id: number; status: string }[]).map((r) => [r.patient_id, r.status]));
    const byCondition = new Map<number, PortalStatus[]>();
    for (const status of PORTAL_STATUSES) {
      for (const row of (await db.query(`SELECT patient_id FROM portal_accounts pa WHERE ${portalStatusConditionSql(status, 'pa')}`)) as { patient_id: number }[]) {
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
