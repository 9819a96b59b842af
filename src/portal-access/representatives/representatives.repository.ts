import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { chunks, execute, forUpdate, fromSqlDate, fromSqlDateTime, placeholders, toSqlDateTime } from '../../database/sql';
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
    const found: RepresentativeRow[] = [];
    for (const chunk of chunks(patientIds)) {
      const rows: Array<Record<string, unknown>> = await tx.query(
        `SELECT ${COLUMNS} FROM patient_representatives WHERE ended_at IS NULL AND patient_id IN (${placeholders(chunk.length)})`,
        chunk,
      );
      found.push(...rows.map(rowOf));
    }
    return found;
  }

  /** Not-ended representatives whose last day is before `today`. */
  async pastEndDay(today: string, db: EntityManager = this.dataSource.manager): Promise<RepresentativeRow[]> {
    const rows: Array<Record<string, unknown>> = await db.query(
      `SELECT ${COLUMNS} FROM patient_representatives WHERE ended_at IS NULL AND ends_on IS NOT NULL AND ends_on < ?`,
      [today],
    );
    return rows.map(rowOf);
  }

  /** Not-ended representatives of this relationship whose patient was born on or before `bornBy`. */
  async ofPatientsBornBy(
    relationship: Relationship,
    bornBy: string,
    db: EntityManager = this.dataSource.manager,
  ): Promise<RepresentativeRow[]> {
    const rows: Array<Record<string, unknown>> = await db.query(
      `SELECT ${COLUMNS.split(', ')
        .map((c) => `pr.${c}`)
        .join(', ')} FROM patient_representatives pr JOIN patients p ON p.id = pr.patient_id
        WHERE pr.ended_at IS NULL AND pr.relationship = ? AND p.date_of_birth <= ?`,
      [relationship, bornBy],
    );
    return rows.map(rowOf);
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
    const counts = new Map<number, number>();
    for (const chunk of chunks(patientIds)) {
      const rows: Array<{ patient_id: number | string; n: number | string }> = await this.dataSource.query(
        `SELECT pr.patient_id, COUNT(*) AS n FROM patient_representatives pr
          WHERE pr.patient_id IN (${placeholders(chunk.length)}) AND ${activeRepresentationSql('pr')} GROUP BY pr.patient_id`,
        [...chunk, today, today],
      );
      for (const row of rows) counts.set(Number(row.patient_id), Number(row.n));
    }
    return counts;
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
