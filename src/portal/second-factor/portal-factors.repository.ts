import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, QueryFailedError } from 'typeorm';
import { execute, fromSqlDateTime, insertRows, toSqlDateTime } from '../../database/sql';

export interface PortalTotpRow {
  secretEncrypted: string;
  enabledAt: Date | null;
  lastUsedStep: number | null;
}

/** A passkey as the account page lists it (the public key is read only to check a sign-in). */
export interface PortalPasskeyRow {
  id: number;
  name: string;
  credentialId: string;
  counter: number;
  transports: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
}

type Db = DataSource | EntityManager;
const PASSKEY_COLUMNS = 'id, name, credential_id, counter, transports, created_at, last_used_at';
const passkeyOf = (row: Record<string, unknown>): PortalPasskeyRow => ({
  id: Number(row.id),
  name: String(row.name),
  credentialId: String(row.credential_id),
  counter: Number(row.counter),
  transports: row.transports === null ? null : String(row.transports),
  createdAt: fromSqlDateTime(row.created_at as string | Date)!,
  lastUsedAt: fromSqlDateTime(row.last_used_at as string | Date | null),
});
const managerOf = (db: Db): EntityManager => ('manager' in db ? db.manager : db);

/** portal_totp, portal_passkeys and portal_recovery_codes: a portal account's second factor (the staff ones live in auth/mfa). */
@Injectable()
export class PortalFactorsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async totpOf(accountId: number, db: Db = this.dataSource): Promise<PortalTotpRow | null> {
    const [row]: Array<Record<string, unknown>> = await db.query(
      'SELECT secret_encrypted, enabled_at, last_used_step FROM portal_totp WHERE account_id = ?',
      [accountId],
    );
    if (!row) return null;
    return {
      secretEncrypted: String(row.secret_encrypted),
      enabledAt: fromSqlDateTime(row.enabled_at as string | Date | null),
      lastUsedStep: row.last_used_step === null ? null : Number(row.last_used_step),
    };
  }

  /** The unconfirmed secret of an enrolment; a parallel first call may have stored one already (that one stays). */
  async addTotpIfAbsent(accountId: number, secretEncrypted: string, at: Date): Promise<void> {
    try {
      await this.dataSource.query('INSERT INTO portal_totp (account_id, secret_encrypted, created_at) VALUES (?, ?, ?)', [
        accountId,
        secretEncrypted,
        toSqlDateTime(at),
      ]);
    } catch (error) {
      if (!(error instanceof QueryFailedError && /unique|duplicate|primary/i.test(error.message))) throw error;
    }
  }

  /** Confirms the enrolment with the step of the first code; false when already confirmed (or gone). */
  async enableTotp(accountId: number, step: number, at: Date, tx: EntityManager): Promise<boolean> {
    return (
      (await execute(
        tx,
        'UPDATE portal_totp SET enabled_at = ?, last_used_step = ? WHERE account_id = ? AND enabled_at IS NULL',
        [toSqlDateTime(at), step, accountId],
      )) === 1
    );
  }

  /** Accepts a sign-in code's step in the same UPDATE that checks it is newer: no replay, even in parallel. */
  async useTotpStep(accountId: number, step: number): Promise<boolean> {
    return (
      (await execute(
        this.dataSource.manager,
        'UPDATE portal_totp SET last_used_step = ? WHERE account_id = ? AND enabled_at IS NOT NULL AND (last_used_step IS NULL OR last_used_step < ?)',
        [step, accountId, step],
      )) === 1
    );
  }

  async removeTotp(accountId: number, tx: EntityManager): Promise<boolean> {
    return (await execute(tx, 'DELETE FROM portal_totp WHERE account_id = ?', [accountId])) > 0;
  }

  /** A confirmed authenticator app or at least one passkey (recovery codes alone are not a factor). */
  async hasFactor(accountId: number, db: Db = this.dataSource): Promise<boolean> {
    const [row] = await db.query(
      'SELECT 1 AS found FROM portal_totp WHERE account_id = ? AND enabled_at IS NOT NULL UNION ALL SELECT 1 AS found FROM portal_passkeys WHERE account_id = ?',
      [accountId, accountId],
    );
    return Boolean(row);
  }

  async passkeysOf(accountId: number, db: Db = this.dataSource): Promise<PortalPasskeyRow[]> {
    const rows: Array<Record<string, unknown>> = await db.query(
      `SELECT ${PASSKEY_COLUMNS} FROM portal_passkeys WHERE account_id = ? ORDER BY id`,
      [accountId],
    );
    return rows.map(passkeyOf);
  }

  /** The account's passkey with this credential id, with its public key, for checking a sign-in. */
  async passkeyForSignIn(accountId: number, credentialId: string): Promise<(PortalPasskeyRow & { publicKey: string }) | null> {
    const [row]: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT ${PASSKEY_COLUMNS}, public_key FROM portal_passkeys WHERE account_id = ? AND credential_id = ?`,
      [accountId, credentialId],
    );
    return row ? { ...passkeyOf(row), publicKey: String(row.public_key) } : null;
  }

  /** Any account's (staff passkeys are another table: one authenticator may serve both). */
  async credentialRegistered(credentialId: string, tx: EntityManager): Promise<boolean> {
    const [row] = await tx.query('SELECT 1 AS found FROM portal_passkeys WHERE credential_id = ?', [credentialId]);
    return Boolean(row);
  }

  async addPasskey(
    accountId: number,
    passkey: { credentialId: string; publicKey: string; counter: number; transports: string | null; name: string },
    at: Date,
    tx: EntityManager,
  ): Promise<PortalPasskeyRow> {
    await tx.query(
      'INSERT INTO portal_passkeys (account_id, credential_id, public_key, counter, transports, name, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [accountId, passkey.credentialId, passkey.publicKey, passkey.counter, passkey.transports, passkey.name, toSqlDateTime(at)],
    );
    const [row]: Array<Record<string, unknown>> = await tx.query(
      `SELECT ${PASSKEY_COLUMNS} FROM portal_passkeys WHERE credential_id = ?`,
      [passkey.credentialId],
    );
    return passkeyOf(row);
  }

  async recordPasskeyUse(passkeyId: number, counter: number, at: Date): Promise<void> {
    await execute(this.dataSource.manager, 'UPDATE portal_passkeys SET counter = ?, last_used_at = ? WHERE id = ?', [
      counter,
      toSqlDateTime(at),
      passkeyId,
    ]);
  }

  /** Only the account's own passkey (the id alone is not enough); null when there is none. */
  async removePasskey(accountId: number, passkeyId: number, tx: EntityManager): Promise<PortalPasskeyRow | null> {
    const [row]: Array<Record<string, unknown>> = await tx.query(
      `SELECT ${PASSKEY_COLUMNS} FROM portal_passkeys WHERE id = ? AND account_id = ?`,
      [passkeyId, accountId],
    );
    if (!row) return null;
    return (await execute(tx, 'DELETE FROM portal_passkeys WHERE id = ? AND account_id = ?', [passkeyId, accountId])) === 1
      ? passkeyOf(row)
      : null;
  }

  async replaceRecoveryCodes(accountId: number, codeHashes: string[], tx: EntityManager): Promise<void> {
    await tx.query('DELETE FROM portal_recovery_codes WHERE account_id = ?', [accountId]);
    await insertRows(
      tx,
      'portal_recovery_codes',
      ['account_id', 'code_hash'],
      codeHashes.map((hash) => [accountId, hash]),
    );
  }

  async remainingRecoveryCodes(accountId: number, db: Db = this.dataSource): Promise<number> {
    const [row] = await db.query('SELECT COUNT(*) AS n FROM portal_recovery_codes WHERE account_id = ? AND used_at IS NULL', [
      accountId,
    ]);
    return Number(row?.n ?? 0);
  }

  /** Marks the code used in one UPDATE (two parallel uses cannot both succeed). */
  async useRecoveryCode(accountId: number, codeHash: string, at: Date, tx: EntityManager): Promise<boolean> {
    return (
      (await execute(
        managerOf(tx),
        'UPDATE portal_recovery_codes SET used_at = ? WHERE account_id = ? AND code_hash = ? AND used_at IS NULL',
        [toSqlDateTime(at), accountId, codeHash],
      )) === 1
    );
  }

  async removeRecoveryCodes(accountId: number, tx: EntityManager): Promise<void> {
    await tx.query('DELETE FROM portal_recovery_codes WHERE account_id = ?', [accountId]);
  }
}
