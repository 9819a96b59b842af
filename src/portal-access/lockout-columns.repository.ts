import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import type { LockoutColumns } from '../auth/lockout/lockout-columns';
import { execute, toSqlDateTime } from '../database/sql';

/** The two portal account tables, both this module's, with the same two lockout columns. */
const TABLES = { patient: 'portal_accounts', representative: 'representative_accounts' } as const;
const KEYS = { patient: 'patient_id', representative: 'id' } as const;
type PortalAccountKind = keyof typeof TABLES;

/**
 * The sign-in lockout columns (failed_login_count, locked_until) of a patient's or a representative's portal
 * account: the LockoutColumns port of auth/lockout/attempt-lock.ts, written once for both tables. No version
 * bump: a sign-in attempt is not a staff change.
 */
class PortalLockoutColumns implements LockoutColumns {
  constructor(
    private readonly dataSource: DataSource,
    private readonly kind: PortalAccountKind,
  ) {}

  async reserveAttempt(id: number, limit: number, now: Date): Promise<boolean> {
    const table = TABLES[this.kind];
    const sql = `UPDATE ${table} SET failed_login_count = failed_login_count + 1 WHERE ${KEYS[this.kind]} = ? AND failed_login_count < ? AND (locked_until IS NULL OR locked_until <= ?)`;
    return (await execute(this.dataSource.manager, sql, [id, limit, toSqlDateTime(now)])) === 1;
  }

  async lockAtLimit(id: number, limit: number, until: Date, tx: EntityManager): Promise<{ failures: number; locked: boolean }> {
    const table = TABLES[this.kind];
    const [row] = await tx.query(`SELECT failed_login_count FROM ${table} WHERE ${KEYS[this.kind]} = ?`, [id]);
    const sql = `UPDATE ${table} SET failed_login_count = 0, locked_until = ? WHERE ${KEYS[this.kind]} = ? AND failed_login_count >= ?`;
    return {
      failures: Number(row?.failed_login_count ?? 0),
      locked: (await execute(tx, sql, [toSqlDateTime(until), id, limit])) === 1,
    };
  }

  async releaseAttempt(id: number): Promise<void> {
    const table = TABLES[this.kind];
    const sql = `UPDATE ${table} SET failed_login_count = failed_login_count - 1 WHERE ${KEYS[this.kind]} = ? AND failed_login_count > 0`;
    await execute(this.dataSource.manager, sql, [id]);
  }

  async isLockedAt(id: number, now: Date): Promise<boolean> {
    const [row] = await this.dataSource.query(
      `SELECT 1 AS locked FROM ${TABLES[this.kind]} WHERE ${KEYS[this.kind]} = ? AND locked_until > ?`,
      [id, toSqlDateTime(now)],
    );
    return Boolean(row);
  }
}

/** A patient's portal account (portal_accounts, by patient id). */
@Injectable()
export class PatientLockoutColumns extends PortalLockoutColumns {
  constructor(@InjectDataSource() dataSource: DataSource) {
    super(dataSource, 'patient');
  }
}

/** A representative's own account (representative_accounts, by account id). */
@Injectable()
export class RepresentativeLockoutColumns extends PortalLockoutColumns {
  constructor(@InjectDataSource() dataSource: DataSource) {
    super(dataSource, 'representative');
  }
}
