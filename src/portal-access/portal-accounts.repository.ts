import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { addressColumn, POSTAL_ADDRESS_PARTS, postalAddressOf, type PostalAddress } from '../patients/postal-address';
import { chunks, forUpdate, fromSqlDateTime, placeholders, toSqlDateTime } from '../database/sql';

/** A staff change to the account: the tab's forms carry `version` (optimistic concurrency). */
const CHANGED = 'version = version + 1, updated_at = ?';
/** Every open portal session of the patient ends (the session stores the generation it began with). */
const END_SESSIONS = 'session_generation = session_generation + 1';

/** One account row locked for a staff change on the Patient Portal tab, with the patient fields it needs. */
export interface LockedAccount {
  patientId: number;
  accessEnabled: boolean;
  username: string | null;
  lockedUntil: Date | null;
  failedLoginCount: number;
  version: number;
  firstName: string;
  email: string | null;
}

/** A patient a printed activation letter may go to. */
export interface LetterCandidate {
  patientId: number;
  firstName: string;
  lastName: string;
  deceased: boolean;
  accessEnabled: boolean;
  address: PostalAddress;
}

const ADDRESS_SQL = POSTAL_ADDRESS_PARTS.map(({ key }) => `p.${addressColumn(key)}`).join(', ');

/** The account a patient signs in with (by username key). */
export interface SignInAccount {
  patientId: number;
  firstName: string;
  username: string;
  passwordHash: string | null;
  accessEnabled: boolean;
}

const truthy = (value: unknown) => value === true || Number(value) === 1;

/**
 * The one writer of portal_accounts (the import's own SQL moves here later). Every method
 * takes the caller's transaction; the version bump and the session-generation bump are
 * written once, above, so no caller has to remember them.
 */
@Injectable()
export class PortalAccountsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** patient id → enabled/deceased, rows locked on MySQL/MariaDB (SQLite serialises writers itself). */
  async lockForEnable(ids: number[], tx: EntityManager): Promise<Map<number, { enabled: boolean; deceased: boolean }>> {
    const found = new Map<number, { enabled: boolean; deceased: boolean }>();
    for (const chunk of chunks(ids)) {
      const rows: Array<Record<string, unknown>> = await tx.query(
        `SELECT pa.patient_id, pa.access_enabled, p.deceased FROM portal_accounts pa JOIN patients p ON p.id = pa.patient_id WHERE pa.patient_id IN (${placeholders(chunk.length)})${forUpdate(tx)}`,
        chunk,
      );
      for (const row of rows)
        found.set(Number(row.patient_id), { enabled: truthy(row.access_enabled), deceased: truthy(row.deceased) });
    }
    return found;
  }

  /** The account row of one patient, locked, for a versioned staff change; null when there is none. */
  async lockForChange(patientId: number, tx: EntityManager): Promise<LockedAccount | null> {
    const [row]: Array<Record<string, unknown>> = await tx.query(
      `SELECT pa.patient_id, pa.access_enabled, pa.username, pa.locked_until, pa.failed_login_count, pa.version, p.first_name, p.email
         FROM portal_accounts pa JOIN patients p ON p.id = pa.patient_id WHERE pa.patient_id = ?${forUpdate(tx)}`,
      [patientId],
    );
    if (!row) return null;
    return {
      patientId,
      accessEnabled: truthy(row.access_enabled),
      username: (row.username as string | null) ?? null,
      lockedUntil: fromSqlDateTime(row.locked_until as Date | string | null),
      failedLoginCount: Number(row.failed_login_count),
      version: Number(row.version),
      firstName: String(row.first_name),
      email: (row.email as string | null) ?? null,
    };
  }

  /** What a printed letter needs of these patients (name, postal address, access), in id order. */
  async letterCandidates(ids: number[], tx: EntityManager): Promise<LetterCandidate[]> {
    const found: LetterCandidate[] = [];
    for (const chunk of chunks(ids)) {
      const rows: Array<Record<string, unknown>> = await tx.query(
        `SELECT p.id, p.first_name, p.last_name, p.deceased, pa.access_enabled, ${ADDRESS_SQL}
           FROM patients p LEFT JOIN portal_accounts pa ON pa.patient_id = p.id WHERE p.id IN (${placeholders(chunk.length)}) ORDER BY p.id`,
        chunk,
      );
      for (const row of rows)
        found.push({
          patientId: Number(row.id),
          firstName: String(row.first_name),
          lastName: String(row.last_name),
          deceased: truthy(row.deceased),
          accessEnabled: truthy(row.access_enabled),
          address: postalAddressOf(
            Object.fromEntries(POSTAL_ADDRESS_PARTS.map(({ key }) => [key, (row[addressColumn(key)] as string | null) ?? null])),
          ),
        });
    }
    return found;
  }

  /** Of `ids`, those whose access is on. */
  async enabledAmong(ids: number[], tx: EntityManager): Promise<number[]> {
    const enabled: number[] = [];
    for (const chunk of chunks(ids)) {
      const rows: Array<{ patient_id: number | string }> = await tx.query(
        `SELECT patient_id FROM portal_accounts WHERE access_enabled = 1 AND patient_id IN (${placeholders(chunk.length)})`,
        chunk,
      );
      enabled.push(...rows.map((row) => Number(row.patient_id)));
    }
    return enabled;
  }

  /** Access on, by whom and when; accounts already enabled are left as they are. */
  async enable(ids: number[], at: Date, staffId: number | null, tx: EntityManager): Promise<void> {
    const now = toSqlDateTime(at);
    for (const chunk of chunks(ids)) {
      await tx.query(
        `UPDATE portal_accounts SET access_enabled = 1, enabled_at = ?, enabled_by_staff_id = ?, ${CHANGED} WHERE access_enabled = 0 AND patient_id IN (${placeholders(chunk.length)})`,
        [now, staffId, now, ...chunk],
      );
    }
  }

  /** Access off; the patients' portal sessions end. */
  async disable(ids: number[], at: Date, tx: EntityManager): Promise<void> {
    const now = toSqlDateTime(at);
    for (const chunk of chunks(ids)) {
      await tx.query(
        `UPDATE portal_accounts SET access_enabled = 0, ${END_SESSIONS}, ${CHANGED} WHERE patient_id IN (${placeholders(chunk.length)})`,
        [now, ...chunk],
      );
    }
  }

  /** Ends every open portal session of the patients (e.g. their email changed). */
  async endPortalSessions(ids: number[], at: Date, tx: EntityManager): Promise<void> {
    const now = toSqlDateTime(at);
    for (const chunk of chunks(ids)) {
      await tx.query(
        `UPDATE portal_accounts SET ${END_SESSIONS}, ${CHANGED} WHERE patient_id IN (${placeholders(chunk.length)})`,
        [now, ...chunk],
      );
    }
  }

  /** The first invite's time stays; later invites and resets only bump the version. */
  async markInvited(ids: number[], at: Date, tx: EntityManager): Promise<void> {
    const now = toSqlDateTime(at);
    for (const chunk of chunks(ids)) {
      await tx.query(
        `UPDATE portal_accounts SET invited_at = COALESCE(invited_at, ?), ${CHANGED} WHERE patient_id IN (${placeholders(chunk.length)})`,
        [now, now, ...chunk],
      );
    }
  }

  /** Clears the lockout (failed sign-ins counted and the lock). */
  async unlock(patientId: number, at: Date, tx: EntityManager): Promise<void> {
    await tx.query(`UPDATE portal_accounts SET locked_until = NULL, failed_login_count = 0, ${CHANGED} WHERE patient_id = ?`, [
      toSqlDateTime(at),
      patientId,
    ]);
  }

  /** Whether another patient holds the username key (folded: case and width ignored). */
  async usernameTaken(key: string, exceptPatientId: number, tx: EntityManager | DataSource = this.dataSource): Promise<boolean> {
    const [owner] = await tx.query('SELECT patient_id FROM portal_accounts WHERE username_key = ? AND patient_id <> ?', [
      key,
      exceptPatientId,
    ]);
    return Boolean(owner);
  }

  async changeUsername(patientId: number, username: string, key: string, at: Date, tx: EntityManager): Promise<void> {
    await tx.query(`UPDATE portal_accounts SET username = ?, username_key = ?, ${CHANGED} WHERE patient_id = ?`, [
      username,
      key,
      toSqlDateTime(at),
      patientId,
    ]);
  }

  /**
   * The patient's new password (and the username chosen from an invite link): the lockout is
   * cleared and every other open session ends.
   */
  async setPassword(
    patientId: number,
    passwordHash: string,
    chosen: { username: string; key: string } | null,
    at: Date,
    tx: EntityManager,
  ): Promise<void> {
    await tx.query(
      `UPDATE portal_accounts SET ${chosen ? 'username = ?, username_key = ?, ' : ''}password_hash = ?, failed_login_count = 0, locked_until = NULL, ${END_SESSIONS}, ${CHANGED} WHERE patient_id = ?`,
      [...(chosen ? [chosen.username, chosen.key] : []), passwordHash, toSqlDateTime(at), patientId],
    );
  }

  /** A successful sign-in: the first one turns the patient green; the lockout counter resets. Not a staff change: no version bump. */
  async recordSignIn(patientId: number, at: Date, tx: EntityManager): Promise<void> {
    const now = toSqlDateTime(at);
    await tx.query(
      'UPDATE portal_accounts SET first_login_at = COALESCE(first_login_at, ?), last_login_at = ?, failed_login_count = 0, locked_until = NULL WHERE patient_id = ?',
      [now, now, patientId],
    );
  }

  async findForSignIn(usernameKey: string): Promise<SignInAccount | null> {
    const [row]: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT pa.patient_id, p.first_name, pa.username, pa.password_hash, pa.access_enabled
         FROM portal_accounts pa JOIN patients p ON p.id = pa.patient_id WHERE pa.username_key = ?`,
      [usernameKey],
    );
    if (!row) return null;
    return {
      patientId: Number(row.patient_id),
      firstName: String(row.first_name),
      username: String(row.username),
      passwordHash: (row.password_hash as string | null) ?? null,
      accessEnabled: truthy(row.access_enabled),
    };
  }

  /** The generation a new portal session stores; 0 for a patient without an account row. */
  async sessionGeneration(patientId: number): Promise<number> {
    const [row] = await this.dataSource.query('SELECT session_generation FROM portal_accounts WHERE patient_id = ?', [patientId]);
    return Number(row?.session_generation ?? 0);
  }
}
