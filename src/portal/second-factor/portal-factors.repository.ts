import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, QueryFailedError } from 'typeorm';
import { execute, fromSqlDateTime, insertRows, toSqlDateTime } from '../../database/sql';
import type { AccountHolder } from '../account/account-holder';

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

/** The same columns for both kinds of account; each table's foreign key points at its own accounts. */
const TABLES: Record<AccountHolder['kind'], { totp: string; passkeys: string; codes: string }> = {
  patient: { totp: 'portal_totp', passkeys: 'portal_passkeys', codes: 'portal_recovery_codes' },
  representative: { totp: 'representative_totp', passkeys: 'representative_passkeys', codes: 'representative_recovery_codes' },
};

/**
 * portal_totp, portal_passkeys and portal_recovery_codes (a patient's portal account) and their
 * representative_* twins (a representative's own account): the second factor of an account
 * holder, every method over AccountHolder (the staff ones live in auth/mfa).
 */
@Injectable()
export class PortalFactorsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async totpOf(holder: AccountHolder, db: Db = this.dataSource): Promise<PortalTotpRow | null> {
    const [row]: Array<Record<string, unknown>> = await db.query(
      `SELECT secret_encrypted, enabled_at, last_used_step FROM ${TABLES[holder.kind].totp} WHERE account_id = ?`,
      [holder.id],
    );
    if (!row) return null;
    return {
      secretEncrypted: String(row.secret_encrypted),
      enabledAt: fromSqlDateTime(row.enabled_at as string | Date | null),
      lastUsedStep: row.last_used_step === null ? null : Number(row.last_used_step),
    };
  }

  /** The unconfirmed secret of an enrolment; a parallel first call may have stored one already (that one stays). */
  async addTotpIfAbsent(holder: AccountHolder, secretEncrypted: string, at: Date): Promise<void> {
    try {
      await this.dataSource.query(
        `INSERT INTO ${TABLES[holder.kind].totp} (account_id, secret_encrypted, created_at) VALUES (?, ?, ?)`,
        [holder.id, secretEncrypted, toSqlDateTime(at)],
      );
    } catch (error) {
      if (!(error instanceof QueryFailedError && /unique|duplicate|primary/i.test(error.message))) throw error;
    }
  }

  /** Confirms the enrolment with the step of the first code; false when already confirmed (or gone). */
  async enableTotp(holder: AccountHolder, step: number, at: Date, tx: EntityManager): Promise<boolean> {
    return (
      (await execute(
        tx,
        `UPDATE ${TABLES[holder.kind].totp} SET enabled_at = ?, last_used_step = ? WHERE account_id = ? AND enabled_at IS NULL`,
        [toSqlDateTime(at), step, holder.id],
      )) === 1
    );
  }

  /** Accepts a sign-in code's step in the same UPDATE that checks it is newer: no replay, even in parallel. */
  async useTotpStep(holder: AccountHolder, step: number): Promise<boolean> {
    return (
      (await execute(
        this.dataSource.manager,
        `UPDATE ${TABLES[holder.kind].totp} SET last_used_step = ? WHERE account_id = ? AND enabled_at IS NOT NULL AND (last_used_step IS NULL OR last_used_step < ?)`,
        [step, holder.id, step],
      )) === 1
    );
  }

  async removeTotp(holder: AccountHolder, tx: EntityManager): Promise<boolean> {
    return (await execute(tx, `DELETE FROM ${TABLES[holder.kind].totp} WHERE account_id = ?`, [holder.id])) > 0;
  }

  /** A confirmed authenticator app or at least one passkey (recovery codes alone are not a factor). */
  async hasFactor(holder: AccountHolder, db: Db = this.dataSource): Promise<boolean> {
    const tables = TABLES[holder.kind];
    const [row] = await db.query(
      `SELECT 1 AS found FROM ${tables.totp} WHERE account_id = ? AND enabled_at IS NOT NULL UNION ALL SELECT 1 AS found FROM ${tables.passkeys} WHERE account_id = ?`,
      [holder.id, holder.id],
    );
    return Boolean(row);
  }

  async passkeysOf(holder: AccountHolder, db: Db = this.dataSource): Promise<PortalPasskeyRow[]> {
    const rows: Array<Record<string, unknown>> = await db.query(
      `SELECT ${PASSKEY_COLUMNS} FROM ${TABLES[holder.kind].passkeys} WHERE account_id = ? ORDER BY id`,
      [holder.id],
    );
    return rows.map(passkeyOf);
  }

  /** The account's passkey with this credential id, with its public key, for checking a sign-in. */
  async passkeyForSignIn(
    holder: AccountHolder,
    credentialId: string,
  ): Promise<(PortalPasskeyRow & { publicKey: string }) | null> {
    const [row]: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT ${PASSKEY_COLUMNS}, public_key FROM ${TABLES[holder.kind].passkeys} WHERE account_id = ? AND credential_id = ?`,
      [holder.id, credentialId],
    );
    return row ? { ...passkeyOf(row), publicKey: String(row.public_key) } : null;
  }

  /** Any account's of this kind (staff passkeys are another table: one authenticator may serve both). */
  async credentialRegistered(holder: AccountHolder, credentialId: string, tx: EntityManager): Promise<boolean> {
    const [row] = await tx.query(`SELECT 1 AS found FROM ${TABLES[holder.kind].passkeys} WHERE credential_id = ?`, [
      credentialId,
    ]);
    return Boolean(row);
  }

  async addPasskey(
    holder: AccountHolder,
    passkey: { credentialId: string; publicKey: string; counter: number; transports: string | null; name: string },
    at: Date,
    tx: EntityManager,
  ): Promise<PortalPasskeyRow> {
    const table = TABLES[holder.kind].passkeys;
    await tx.query(
      `INSERT INTO ${table} (account_id, credential_id, public_key, counter, transports, name, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      [holder.id, passkey.credentialId, passkey.publicKey, passkey.counter, passkey.transports, passkey.name, toSqlDateTime(at)],
    );
    const [row]: Array<Record<string, unknown>> = await tx.query(
      `SELECT ${PASSKEY_COLUMNS} FROM ${table} WHERE credential_id = ?`,
      [passkey.credentialId],
    );
    return passkeyOf(row);
  }

  async recordPasskeyUse(holder: AccountHolder, passkeyId: number, counter: number, at: Date): Promise<void> {
    await execute(
      this.dataSource.manager,
      `UPDATE ${TABLES[holder.kind].passkeys} SET counter = ?, last_used_at = ? WHERE id = ? AND account_id = ?`,
      [counter, toSqlDateTime(at), passkeyId, holder.id],
    );
  }

  /** Only the account's own passkey (the id alone is not enough); the row before the change, or null when there is none. */
  async renamePasskey(
    holder: AccountHolder,
    passkeyId: number,
    name: string,
    tx: EntityManager,
  ): Promise<PortalPasskeyRow | null> {
    const table = TABLES[holder.kind].passkeys;
    const [row]: Array<Record<string, unknown>> = await tx.query(
      `SELECT ${PASSKEY_COLUMNS} FROM ${table} WHERE id = ? AND account_id = ?`,
      [passkeyId, holder.id],
    );
    if (!row) return null;
    await execute(tx, `UPDATE ${table} SET name = ? WHERE id = ? AND account_id = ?`, [name, passkeyId, holder.id]);
    return passkeyOf(row);
  }

  /** Only the account's own passkey (the id alone is not enough); null when there is none. */
  async removePasskey(holder: AccountHolder, passkeyId: number, tx: EntityManager): Promise<PortalPasskeyRow | null> {
    const table = TABLES[holder.kind].passkeys;
    const [row]: Array<Record<string, unknown>> = await tx.query(
      `SELECT ${PASSKEY_COLUMNS} FROM ${table} WHERE id = ? AND account_id = ?`,
      [passkeyId, holder.id],
    );
    if (!row) return null;
    return (await execute(tx, `DELETE FROM ${table} WHERE id = ? AND account_id = ?`, [passkeyId, holder.id])) === 1
      ? passkeyOf(row)
      : null;
  }

  async replaceRecoveryCodes(holder: AccountHolder, codeHashes: string[], tx: EntityManager): Promise<void> {
    const table = TABLES[holder.kind].codes;
    await tx.query(`DELETE FROM ${table} WHERE account_id = ?`, [holder.id]);
    await insertRows(
      tx,
      table,
      ['account_id', 'code_hash'],
      codeHashes.map((hash) => [holder.id, hash]),
    );
  }

  async remainingRecoveryCodes(holder: AccountHolder, db: Db = this.dataSource): Promise<number> {
    const [row] = await db.query(
      `SELECT COUNT(*) AS n FROM ${TABLES[holder.kind].codes} WHERE account_id = ? AND used_at IS NULL`,
      [holder.id],
    );
    return Number(row?.n ?? 0);
  }

  /** Marks the code used in one UPDATE (two parallel uses cannot both succeed). */
  async useRecoveryCode(holder: AccountHolder, codeHash: string, at: Date, tx: EntityManager): Promise<boolean> {
    return (
      (await execute(
        managerOf(tx),
        `UPDATE ${TABLES[holder.kind].codes} SET used_at = ? WHERE account_id = ? AND code_hash = ? AND used_at IS NULL`,
        [toSqlDateTime(at), holder.id, codeHash],
      )) === 1
    );
  }

  async removeRecoveryCodes(holder: AccountHolder, tx: EntityManager): Promise<void> {
    await tx.query(`DELETE FROM ${TABLES[holder.kind].codes} WHERE account_id = ?`, [holder.id]);
  }
}
