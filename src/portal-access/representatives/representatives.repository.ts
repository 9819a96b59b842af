import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import {
  chunks,
  execute,
  forUpdate,
  fromSqlDate,
  fromSqlDateTime,
  isSqliteManager,
  placeholders,
  toSqlDateTime,
} from '../../database/sql';
import { activeRepresentationSql, type EndReason, type Relationship } from './representative-rules';

export interface RepresentativeRow {
  id: number;
  patientId: number;
  accountId: number;
  fullName: string;
  relationship: Relationship;
  email: string;
  phone: string | null;
  basis: string;
  startsOn: string;
  endsOn: string | null;
  reason: string;
  createdAt: Date;
  endedAt: Date | null;
  endedReason: EndReason | null;
  version: number;
}

export interface RepresentativeFields {
  fullName: string;
  relationship: Relationship;
  email: string;
  emailKey: string;
  phone: string | null;
  basis: string;
  startsOn: string;
  endsOn: string | null;
  reason: string;
}

/** A patient a representative may act for, as their portal home lists it. */
export interface RepresentedPatient {
  representativeId: number;
  patientId: number;
  firstName: string;
  lastName: string;
  relationship: Relationship;
  endsOn: string | null;
}

const COLUMNS =
  'id, patient_id, account_id, full_name, relationship, email, phone, basis, starts_on, ends_on, reason, created_at, ended_at, ended_reason, version';

const rowOf = (row: Record<string, unknown>): RepresentativeRow => ({
  id: Number(row.id),
  patientId: Number(row.patient_id),
  accountId: Number(row.account_id),
  fullName: String(row.full_name),
  relationship: row.relationship as Relationship,
  email: String(row.email),
  phone: (row.phone as string | null) ?? null,
  basis: String(row.basis),
  startsOn: String(row.starts_on),
  endsOn: (row.ends_on as string | null) ?? null,
  reason: String(row.reason),
  createdAt: fromSqlDateTime(row.created_at as string)!,
  endedAt: fromSqlDateTime(row.ended_at as string | null),
  endedReason: (row.ended_reason as EndReason | null) ?? null,
  version: Number(row.version),
});

/** Runs `sql(inList)` once per chunk of `values` (bound first, then `extra`) and concatenates the rows. */
async function inChunks<R>(
  db: EntityManager | DataSource,
  values: unknown[],
  sql: (inList: string) => string,
  extra: unknown[] = [],
): Promise<R[]> {
  const rows: R[] = [];
  for (const chunk of chunks(values))
    rows.push(...((await db.query(sql(placeholders(chunk.length)), [...chunk, ...extra])) as R[]));
  return rows;
}

/** patient_representatives: the only place its SQL lives. */
@Injectable()
export class RepresentativesRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** A patient's representatives, current first, then ended ones newest first. */
  async ofPatient(patientId: number, db: EntityManager = this.dataSource.manager): Promise<RepresentativeRow[]> {
    const rows: Array<Record<string, unknown>> = await db.query(
      `SELECT ${COLUMNS} FROM patient_representatives WHERE patient_id = ? ORDER BY CASE WHEN ended_at IS NULL THEN 0 ELSE 1 END, id DESC`,
      [patientId],
    );
    return rows.map(rowOf);
  }

  /** One representative of this patient, locked for a versioned change. */
  async lock(patientId: number, id: number, tx: EntityManager): Promise<RepresentativeRow | null> {
    const [row] = await tx.query(
      `SELECT ${COLUMNS} FROM patient_representatives WHERE id = ? AND patient_id = ?${forUpdate(tx)}`,
      [id, patientId],
    );
    return row ? rowOf(row) : null;
  }

  async insert(
    patientId: number,
    accountId: number,
    fields: RepresentativeFields,
    staffId: number | null,
    now: Date,
    tx: EntityManager,
  ): Promise<number> {
    const at = toSqlDateTime(now);
    await tx.query(
      `INSERT INTO patient_representatives (patient_id, account_id, full_name, relationship, email, email_key, phone, basis, starts_on, ends_on, reason, created_by_staff_id, created_at, updated_at, version)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
      [
        patientId,
        accountId,
        fields.fullName,
        fields.relationship,
        fields.email,
        fields.emailKey,
        fields.phone,
        fields.basis,
        fields.startsOn,
        fields.endsOn,
        fields.reason,
        staffId,
        at,
        at,
      ],
    );
    const [row] = await tx.query('SELECT MAX(id) AS id FROM patient_representatives WHERE patient_id = ? AND account_id = ?', [
      patientId,
      accountId,
    ]);
    return Number(row.id);
  }

  async update(id: number, accountId: number, fields: RepresentativeFields, now: Date, tx: EntityManager): Promise<void> {
    await tx.query(
      `UPDATE patient_representatives SET account_id = ?, full_name = ?, relationship = ?, email = ?, email_key = ?, phone = ?, basis = ?,
              starts_on = ?, ends_on = ?, reason = ?, version = version + 1, updated_at = ? WHERE id = ?`,
      [
        accountId,
        fields.fullName,
        fields.relationship,
        fields.email,
        fields.emailKey,
        fields.phone,
        fields.basis,
        fields.startsOn,
        fields.endsOn,
        fields.reason,
        toSqlDateTime(now),
        id,
      ],
    );
  }

  /** Ends these representatives (those not ended yet); returns the ones this call ended. */
  async end(ids: number[], reason: EndReason, now: Date, tx: EntityManager): Promise<number[]> {
    const ended: number[] = [];
    for (const id of ids) {
      // One conditional UPDATE per row: of two instances (or clicks) ending it, exactly one counts.
      const changed = await execute(
        tx,
        'UPDATE patient_representatives SET ended_at = ?, ended_reason = ?, version = version + 1, updated_at = ? WHERE id = ? AND ended_at IS NULL',
        [toSqlDateTime(now), reason, toSqlDateTime(now), id],
      );
      if (changed === 1) ended.push(id);
    }
    return ended;
  }

  /** Not-ended representatives of these patients (disable access ends them all). */
  async openOf(patientIds: number[], tx: EntityManager): Promise<RepresentativeRow[]> {
    const rows = await inChunks<Record<string, unknown>>(
      tx,
      patientIds,
      (inList) => `SELECT ${COLUMNS} FROM patient_representatives WHERE ended_at IS NULL AND patient_id IN (${inList})`,
    );
    return rows.map(rowOf);
  }

  /** Not-ended representatives whose last day is before `today`. */
  async pastEndDay(today: string, db: EntityManager = this.dataSource.manager): Promise<RepresentativeRow[]> {
    const rows: Array<Record<string, unknown>> = await db.query(
      `SELECT ${COLUMNS} FROM patient_representatives WHERE ended_at IS NULL AND ends_on IS NOT NULL AND ends_on < ?`,
      [today],
    );
    return rows.map(rowOf);
  }

  /** Not-ended representatives of this relationship whose patient was born on or before `bornBy`, with that birth date. */
  async ofPatientsBornBy(
    relationship: Relationship,
    bornBy: string,
    db: EntityManager = this.dataSource.manager,
  ): Promise<Array<RepresentativeRow & { patientBorn: string }>> {
    const rows: Array<Record<string, unknown>> = await db.query(
      `SELECT ${COLUMNS.split(', ')
        .map((c) => `pr.${c}`)
        .join(', ')}, p.date_of_birth AS patient_born FROM patient_representatives pr JOIN patients p ON p.id = pr.patient_id
        WHERE pr.ended_at IS NULL AND pr.relationship = ? AND p.date_of_birth <= ?`,
      [relationship, bornBy],
    );
    return rows.map((row) => ({ ...rowOf(row), patientBorn: fromSqlDate(row.patient_born as string) }));
  }

  /**
   * Claims one day's run of a daily job for this instance: the primary key lets exactly one of
   * several instances insert the row (a claim commits before the work it claims).
   */
  async claimDay(name: string, day: string, now: Date): Promise<boolean> {
    const manager = this.dataSource.manager;
    // INSERT OR IGNORE / INSERT IGNORE: a lost claim is an answer (0 rows), not a failed query in the logs every hour.
    const ignore = isSqliteManager(manager) ? 'INSERT OR IGNORE' : 'INSERT IGNORE';
    const inserted = await execute(manager, `${ignore} INTO daily_sweeps (name, day, claimed_at) VALUES (?, ?, ?)`, [
      name,
      day,
      toSqlDateTime(now),
    ]);
    return inserted === 1;
  }

  /** "Turned 18 — invite to their own account": a guardian ended at majority, no username of their own yet; newest first. */
  async turnedAdult(
    limit: number,
  ): Promise<Array<{ patientId: number; firstName: string; lastName: string; email: string | null; endedAt: Date }>> {
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT p.id, p.first_name, p.last_name, p.email, MAX(pr.ended_at) AS ended_at
         FROM patient_representatives pr JOIN patients p ON p.id = pr.patient_id
         LEFT JOIN portal_accounts pa ON pa.patient_id = p.id
        WHERE pr.ended_reason = 'age_of_majority' AND pa.username IS NULL
        GROUP BY p.id, p.first_name, p.last_name, p.email ORDER BY MAX(pr.ended_at) DESC LIMIT ${Math.max(1, Math.floor(limit))}`,
    );
    return rows.map((row) => ({
      patientId: Number(row.id),
      firstName: String(row.first_name),
      lastName: String(row.last_name),
      email: (row.email as string | null) ?? null,
      endedAt: fromSqlDateTime(row.ended_at as string)!,
    }));
  }

  /** The patients this account may act for on clinic day `today`. */
  async activeForAccount(accountId: number, today: string): Promise<RepresentedPatient[]> {
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT pr.id, pr.patient_id, p.first_name, p.last_name, pr.relationship, pr.ends_on
         FROM patient_representatives pr JOIN patients p ON p.id = pr.patient_id
         JOIN portal_accounts pa ON pa.patient_id = pr.patient_id AND pa.access_enabled = 1
        WHERE pr.account_id = ? AND ${activeRepresentationSql('pr')} ORDER BY p.last_name, p.first_name`,
      [accountId, today, today],
    );
    return rows.map((row) => ({
      representativeId: Number(row.id),
      patientId: Number(row.patient_id),
      firstName: String(row.first_name),
      lastName: String(row.last_name),
      relationship: row.relationship as Relationship,
      endsOn: (row.ends_on as string | null) ?? null,
    }));
  }

  /** Whether this account may act for this patient on `today`. */
  async isActive(
    accountId: number,
    patientId: number,
    today: string,
    db: EntityManager = this.dataSource.manager,
  ): Promise<boolean> {
    const [row] = await db.query(
      `SELECT 1 AS ok FROM patient_representatives pr WHERE pr.account_id = ? AND pr.patient_id = ? AND ${activeRepresentationSql('pr')}`,
      [accountId, patientId, today, today],
    );
    return Boolean(row);
  }

  /** Active representatives per patient on `today` (the onboarding rows' badge). */
  async countActive(patientIds: number[], today: string): Promise<Map<number, number>> {
    const rows = await inChunks<{ patient_id: number | string; n: number | string }>(
      this.dataSource,
      patientIds,
      (inList) =>
        `SELECT pr.patient_id, COUNT(*) AS n FROM patient_representatives pr
          WHERE pr.patient_id IN (${inList}) AND ${activeRepresentationSql('pr')} GROUP BY pr.patient_id`,
      [today, today],
    );
    return new Map(rows.map((row) => [Number(row.patient_id), Number(row.n)]));
  }

  /**
   * Patients whose email is one of these keys (trimmed, lower-cased), as id → key. On MySQL/MariaDB
   * the column's case-insensitive, pad-space collation compares that way through ix_patients_email;
   * SQLite compares bytes, so it folds the column, through the expression index ix_patients_email_key.
   */
  async patientsWithEmailKeys(
    keys: string[],
    db: EntityManager = this.dataSource.manager,
  ): Promise<Array<{ id: number; key: string }>> {
    const column = isSqliteManager(db) ? 'LOWER(TRIM(email))' : 'email';
    const rows = await inChunks<{ id: number | string; email: string }>(
      db,
      keys,
      (inList) => `SELECT id, email FROM patients WHERE ${column} IN (${inList})`,
    );
    return rows.map((row) => ({ id: Number(row.id), key: row.email.trim().toLowerCase() }));
  }

  /** The email on file of these patients (those who have one). */
  async emailsOf(
    patientIds: number[],
    db: EntityManager = this.dataSource.manager,
  ): Promise<Array<{ id: number; email: string }>> {
    const rows = await inChunks<{ id: number | string; email: string }>(
      db,
      patientIds,
      (inList) => `SELECT id, email FROM patients WHERE email IS NOT NULL AND id IN (${inList})`,
    );
    return rows.map((row) => ({ id: Number(row.id), email: row.email }));
  }

  /** Not-ended representatives whose address is one of these keys: patient id and key. */
  async representativesWithEmailKeys(
    keys: string[],
    db: EntityManager = this.dataSource.manager,
  ): Promise<Array<{ patientId: number; key: string }>> {
    const rows = await inChunks<{ patient_id: number | string; email_key: string }>(
      db,
      keys,
      (inList) => `SELECT patient_id, email_key FROM patient_representatives WHERE ended_at IS NULL AND email_key IN (${inList})`,
    );
    return rows.map((row) => ({ patientId: Number(row.patient_id), key: row.email_key }));
  }

  /** The patient's date of birth and email (the minor and same-address rules need them). */
  async patientFacts(
    patientId: number,
    db: EntityManager = this.dataSource.manager,
  ): Promise<{ email: string | null; dateOfBirth: string; deceased: boolean; accessEnabled: boolean } | null> {
    const [row] = await db.query(
      `SELECT p.email, p.date_of_birth, p.deceased, pa.access_enabled FROM patients p LEFT JOIN portal_accounts pa ON pa.patient_id = p.id WHERE p.id = ?`,
      [patientId],
    );
    if (!row) return null;
    return {
      email: row.email ?? null,
      dateOfBirth: fromSqlDate(row.date_of_birth),
      deceased: Number(row.deceased) === 1,
      accessEnabled: Number(row.access_enabled ?? 0) === 1,
    };
  }
}
