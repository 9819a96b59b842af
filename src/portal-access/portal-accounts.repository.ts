import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { ActivationFunnelRepository } from '../patients/activation-funnel.repository';
import { addressColumn, POSTAL_ADDRESS_PARTS, postalAddressOf, type PostalAddress } from '../patients/postal-address';
import { chunks, forUpdate, fromSqlDate, fromSqlDateTime, insertRows, placeholders, toSqlDateTime } from '../database/sql';
import { hasEmail } from './portal-eligibility';
import { usernameKey } from './usernames';

/** A staff change to the account: the tab's forms carry `version` (optimistic concurrency). */
const CHANGED = 'version = version + 1, updated_at = ?';
/** Every open portal session of the patient ends (the session stores the generation it began with). */
const END_SESSIONS = 'session_generation = session_generation + 1';

/** A demo account as the demo seed makes it: the status follows from which dates are set (portal-status.ts). */
export interface DemoPortalAccount {
  patientId: number;
  accessEnabled: boolean;
  username: string | null;
  enabledAt: Date | null;
  invitedAt: Date | null;
  firstLoginAt: Date | null;
  lastLoginAt: Date | null;
}

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
  /** YYYY-MM-DD: the minors rule needs the age. */
  dateOfBirth: string;
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

/** The account as the Patient Portal tab shows it (read-only), with who enabled it. */
export interface AccountOverview {
  accessEnabled: boolean;
  username: string | null;
  enabledAt: Date | null;
  enabledBy: string | null;
  invitedAt: Date | null;
  firstLoginAt: Date | null;
  lastLoginAt: Date | null;
  failedLoginCount: number;
  lockedUntil: Date | null;
  version: number;
  /** The address a hard bounce came back from, and when (issue 17). */
  bouncedEmail: string | null;
  emailBouncedAt: Date | null;
}

/** A patient as the invite plan weighs it (the account fields null-safe when there is no account row). */
export interface InviteCandidate {
  id: number;
  firstName: string;
  /** BCP 47 tag on file: the email goes out in it (or the default language). */
  language: string | null;
  deceased: boolean;
  /** Null when there is no usable address (none, or only whitespace). */
  email: string | null;
  accessEnabled: boolean;
  username: string | null;
  /** The address that hard-bounced (invites skip it until the address on file changes). */
  bouncedEmail: string | null;
  /** For the minors rule (the caller computes the age on the clinic's today). */
  dateOfBirth: Date | string;
}

/** The account's holder as the account page and its notices need them (password rules, the address on file). */
export interface AccountHolder {
  patientId: number;
  username: string | null;
  passwordHash: string | null;
  firstName: string;
  lastName: string;
  dateOfBirth: string;
  email: string | null;
}

const truthy = (value: unknown) => value === true || Number(value) === 1;

/**
 * The one writer of portal_accounts (the import's own SQL moves here later). Every method
 * takes the caller's transaction; the version bump and the session-generation bump are
 * written once, above, so no caller has to remember them. A change that moves the activation
 * funnel (access, username, first sign-in) updates its summary in the same transaction, after the account row.
 */
@Injectable()
export class PortalAccountsRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly funnel: ActivationFunnelRepository,
  ) {}

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
        `SELECT p.id, p.first_name, p.last_name, p.date_of_birth, p.deceased, pa.access_enabled, ${ADDRESS_SQL}
           FROM patients p LEFT JOIN portal_accounts pa ON pa.patient_id = p.id WHERE p.id IN (${placeholders(chunk.length)}) ORDER BY p.id`,
        chunk,
      );
      for (const row of rows)
        found.push({
          patientId: Number(row.id),
          firstName: String(row.first_name),
          lastName: String(row.last_name),
          dateOfBirth: fromSqlDate(row.date_of_birth as string | Date),
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

  /** New patients' account rows (an import's), red: access not enabled. Multi-row INSERTs, in the caller's transaction. */
  async createForNewPatients(patientIds: number[], at: Date, tx: EntityManager): Promise<void> {
    const now = toSqlDateTime(at);
    await insertRows(
      tx,
      'portal_accounts',
      ['patient_id', 'access_enabled', 'version', 'updated_at'],
      patientIds.map((id) => [id, 0, 1, now]),
    );
    await this.funnel.addAccounts(patientIds, tx);
  }

  /**
   * Demo accounts of every portal status (the demo seed's): multi-row INSERTs in the caller's transaction, so
   * 100k take seconds. The username key is the real folding (usernames.ts), as a patient's own choice would get.
   */
  async insertDemo(accounts: DemoPortalAccount[], at: Date, tx: EntityManager): Promise<void> {
    const now = toSqlDateTime(at);
    const when = (value: Date | null) => (value ? toSqlDateTime(value) : null);
    await insertRows(
      tx,
      'portal_accounts',
      [
        'patient_id',
        'access_enabled',
        'username',
        'username_key',
        'enabled_at',
        'invited_at',
        'first_login_at',
        'last_login_at',
        'version',
        'updated_at',
      ],
      accounts.map((a) => [
        a.patientId,
        a.accessEnabled ? 1 : 0,
        a.username,
        a.username === null ? null : usernameKey(a.username),
        when(a.enabledAt),
        when(a.invitedAt),
        when(a.firstLoginAt),
        when(a.lastLoginAt),
        1,
        now,
      ]),
    );
    await this.funnel.addAccounts(
      accounts.map((a) => a.patientId),
      tx,
    );
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
    await this.funnel.accessChanged(ids, true, tx);
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
    await this.funnel.accessChanged(ids, false, tx);
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

  /** A hard bounce from `address`: no email goes to it while it is the patient's address on file. */
  async markEmailBounced(patientId: number, address: string, at: Date, tx: EntityManager): Promise<void> {
    const now = toSqlDateTime(at);
    await tx.query(`UPDATE portal_accounts SET bounced_email = ?, email_bounced_at = ?, ${CHANGED} WHERE patient_id = ?`, [
      address.slice(0, 254),
      now,
      now,
      patientId,
    ]);
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
    await this.funnel.setUp(patientId, tx);
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
    if (chosen) await this.funnel.setUp(patientId, tx);
  }

  /** A successful sign-in: the first one turns the patient green; the lockout counter resets. Not a staff change: no version bump. */
  async recordSignIn(patientId: number, at: Date, tx: EntityManager): Promise<void> {
    const now = toSqlDateTime(at);
    await tx.query(
      'UPDATE portal_accounts SET first_login_at = COALESCE(first_login_at, ?), last_login_at = ?, failed_login_count = 0, locked_until = NULL WHERE patient_id = ?',
      [now, now, patientId],
    );
    await this.funnel.signedIn(patientId, tx);
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
  /** The patients behind `ids` with their accounts, row-locked when `lock` (the send's transaction). */
  async inviteCandidates(ids: number[], lock: boolean, db: EntityManager): Promise<Map<number, InviteCandidate>> {
    const found = new Map<number, InviteCandidate>();
    for (const chunk of chunks(ids)) {
      const rows: Array<{
        id: number | string;
        first_name: string;
        email: string | null;
        deceased: number | boolean | string;
        access_enabled: number | boolean | null;
        username: string | null;
        bounced_email: string | null;
        preferred_language: string | null;
        date_of_birth: Date | string;
      }> = await db.query(
        `SELECT p.id, p.first_name, p.preferred_language, p.email, p.deceased, p.date_of_birth, pa.access_enabled, pa.username, pa.bounced_email
           FROM patients p LEFT JOIN portal_accounts pa ON pa.patient_id = p.id
          WHERE p.id IN (${placeholders(chunk.length)})${lock ? forUpdate(db) : ''}`,
        chunk,
      );
      for (const row of rows) {
        found.set(Number(row.id), {
          id: Number(row.id),
          firstName: row.first_name,
          deceased: Number(row.deceased) === 1,
          email: hasEmail(row.email) ? row.email : null,
          accessEnabled: Number(row.access_enabled ?? 0) === 1,
          username: row.username,
          bouncedEmail: row.bounced_email ?? null,
          language: row.preferred_language ?? null,
          dateOfBirth: row.date_of_birth,
        });
      }
    }
    return found;
  }

  /** What a patient session is re-checked against on each request; null when there is no account. */
  async sessionState(
    patientId: number,
  ): Promise<{ firstName: string; username: string | null; accessEnabled: boolean; sessionGeneration: number } | null> {
    const [row]: Array<{ first_name: string; username: string | null; access_enabled: unknown; session_generation: unknown }> =
      await this.dataSource.query(
        `SELECT p.first_name, pa.username, pa.access_enabled, pa.session_generation
           FROM portal_accounts pa JOIN patients p ON p.id = pa.patient_id WHERE pa.patient_id = ?`,
        [patientId],
      );
    if (!row) return null;
    return {
      firstName: row.first_name,
      username: row.username,
      accessEnabled: truthy(row.access_enabled),
      sessionGeneration: Number(row.session_generation),
    };
  }

  /**
   * Accounts a "forgot password" request may reach: enabled, with a username and an email on file,
   * found by the patient's email (as typed or lower-cased) or by username key.
   */
  async resetTargets(by: { email: string } | { usernameKey: string }): Promise<number[]> {
    const rows: Array<{ patient_id: number | string }> =
      'email' in by
        ? await this.dataSource.query(
            `SELECT pa.patient_id FROM patients p JOIN portal_accounts pa ON pa.patient_id = p.id
              WHERE p.email IN (?, ?) AND pa.access_enabled = 1 AND pa.username IS NOT NULL`,
            [by.email, by.email.toLowerCase()],
          )
        : await this.dataSource.query(
            `SELECT pa.patient_id FROM portal_accounts pa JOIN patients p ON p.id = pa.patient_id
              WHERE pa.username_key = ? AND pa.access_enabled = 1 AND p.email IS NOT NULL`,
            [by.usernameKey],
          );
    return rows.map((row) => Number(row.patient_id));
  }

  /** The tab's view of the account; null when the patient has no account row. */
  async overviewOf(patientId: number): Promise<AccountOverview | null> {
    const [row]: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT pa.access_enabled, pa.username, pa.enabled_at, pa.invited_at, pa.first_login_at, pa.last_login_at,
              pa.failed_login_count, pa.locked_until, pa.version, pa.bounced_email, pa.email_bounced_at,
              s.name AS enabled_by
         FROM portal_accounts pa LEFT JOIN staff_users s ON s.id = pa.enabled_by_staff_id
        WHERE pa.patient_id = ?`,
      [patientId],
    );
    if (!row) return null;
    const date = (value: unknown) => fromSqlDateTime(value as Date | string | null);
    return {
      accessEnabled: truthy(row.access_enabled),
      username: (row.username as string | null) ?? null,
      enabledAt: date(row.enabled_at),
      enabledBy: (row.enabled_by as string | null) ?? null,
      invitedAt: date(row.invited_at),
      firstLoginAt: date(row.first_login_at),
      lastLoginAt: date(row.last_login_at),
      failedLoginCount: Number(row.failed_login_count ?? 0),
      lockedUntil: date(row.locked_until),
      version: Number(row.version ?? 1),
      bouncedEmail: (row.bounced_email as string | null) ?? null,
      emailBouncedAt: date(row.email_bounced_at),
    };
  }

  async sessionGeneration(patientId: number): Promise<number> {
    const [row] = await this.dataSource.query('SELECT session_generation FROM portal_accounts WHERE patient_id = ?', [patientId]);
    return Number(row?.session_generation ?? 0);
  }

  /** The holder of an account (null when there is none), read in the caller's transaction when given. */
  async holderOf(patientId: number, db: EntityManager | DataSource = this.dataSource): Promise<AccountHolder | null> {
    const [row]: Array<Record<string, unknown>> = await db.query(
      `SELECT pa.patient_id, pa.username, pa.password_hash, p.first_name, p.last_name, p.date_of_birth, p.email
         FROM portal_accounts pa JOIN patients p ON p.id = pa.patient_id WHERE pa.patient_id = ?`,
      [patientId],
    );
    if (!row) return null;
    return {
      patientId,
      username: (row.username as string | null) ?? null,
      passwordHash: (row.password_hash as string | null) ?? null,
      firstName: String(row.first_name),
      lastName: String(row.last_name),
      dateOfBirth: fromSqlDate(row.date_of_birth as string | Date),
      email: (row.email as string | null) ?? null,
    };
  }
}
