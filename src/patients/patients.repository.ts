import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In } from 'typeorm';
import { chunks, forUpdate, isSqliteManager, LIKE, likePrefix, placeholders, toSqlDateTime } from '../database/sql';
import { ActivationFunnelRepository } from './activation-funnel.repository';
import { Appointment } from './entities/appointment.entity';
import { Patient } from './entities/patient.entity';
import { Provider } from './entities/provider.entity';
import { Tag } from './entities/tag.entity';

/**
 * What the Edit details form writes, as entity properties. A new editable column (postal address,
 * language, …) is added here and to the entity; `updateDetails` writes whatever this holds.
 */
export interface PatientDetailsUpdate {
  firstName: string;
  lastName: string;
  dateOfBirth: string;
  phone: string | null;
  phoneDigits: string | null;
  preferredLanguage: string | null;
  primaryProviderId: number | null;
}

/** A patient's contact as the email-change rules read it, row-locked in their transaction. */
export interface PatientContact {
  email: string | null;
  firstName: string;
  version: number;
}

/** A patient found by name or MRN (for filters that take what staff type). */
export interface PatientMatch {
  id: number;
  name: string;
  externalId: string | null;
}

/**
 * patients, patient_tags, providers, tags and appointments: every query of the patients module's
 * tables. Other modules call these methods; none writes these tables itself. Every write of a
 * patient row moves its `version` (the forms' optimistic lock) — written once, in `BUMP`.
 */
@Injectable()
export class PatientsRepository {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly funnel: ActivationFunnelRepository,
  ) {}

  /** The dashboard's patient, with provider and tags. */
  findWithDetails(id: number): Promise<Patient | null> {
    return this.dataSource.getRepository(Patient).findOne({ where: { id }, relations: { primaryProvider: true, tags: true } });
  }

  /** The patient with its tags, as an edit compares it (inside the edit's transaction). */
  findForEdit(id: number, tx: EntityManager): Promise<Patient | null> {
    return tx.findOne(Patient, { where: { id }, relations: { tags: true } });
  }

  /** The next `limit` appointments from `now`, with their provider. */
  upcomingAppointments(patientId: number, now: Date, limit: number): Promise<Appointment[]> {
    return this.dataSource
      .getRepository(Appointment)
      .createQueryBuilder('a')
      .leftJoinAndSelect('a.provider', 'provider')
      .where('a.patient_id = :id AND a.starts_at >= :now', { id: patientId, now })
      .orderBy('a.starts_at', 'ASC')
      .limit(limit)
      .getMany();
  }

  providers(): Promise<Provider[]> {
    return this.dataSource.getRepository(Provider).find({ order: { name: 'ASC' } });
  }

  tags(): Promise<Tag[]> {
    return this.dataSource.getRepository(Tag).find({ order: { name: 'ASC' } });
  }

  providerExists(id: number, tx: EntityManager): Promise<boolean> {
    return tx.existsBy(Provider, { id });
  }

  /** How many of these (distinct) tag ids exist. */
  countTags(ids: number[], tx: EntityManager): Promise<number> {
    return tx.countBy(Tag, { id: In(ids) });
  }

  /** Writes the details if the row is still at `version`; false when someone else changed it first. */
  async updateDetails(id: number, version: number, details: PatientDetailsUpdate, tx: EntityManager): Promise<boolean> {
    const result = await tx
      .createQueryBuilder()
      .update(Patient)
      .set({
        ...details,
        version: () => 'version + 1',
        updatedAt: () => (isSqliteManager(tx) ? "datetime('now')" : 'CURRENT_TIMESTAMP'),
      })
      .where('id = :id AND version = :version', { id, version })
      .execute();
    if (result.affected !== 1) return false;
    // The activation report groups by the primary provider: its summary follows, after the patient row.
    await this.funnel.providerChanged(id, details.primaryProviderId, tx);
    return true;
  }

  /** The patient's tags become exactly `tagIds`. */
  async replaceTags(patientId: number, tagIds: number[], tx: EntityManager): Promise<void> {
    await tx.query('DELETE FROM patient_tags WHERE patient_id = ?', [patientId]);
    const unique = [...new Set(tagIds)];
    if (unique.length)
      await tx.query(
        `INSERT INTO patient_tags (patient_id, tag_id) VALUES ${unique.map(() => '(?, ?)').join(', ')}`,
        unique.flatMap((tagId) => [patientId, tagId]),
      );
    await this.funnel.tagsChanged([patientId], tx);
  }

  /** The patient's email, first name and version, row-locked for the caller's transaction; null if unknown. */
  async lockContact(id: number, tx: EntityManager): Promise<PatientContact | null> {
    const [row]: Array<{ email: string | null; first_name: string; version: number | string }> = await tx.query(
      `SELECT email, first_name, version FROM patients WHERE id = ?${forUpdate(tx)}`,
      [id],
    );
    return row ? { email: row.email, firstName: row.first_name, version: Number(row.version) } : null;
  }

  async firstName(id: number, db: EntityManager = this.dataSource.manager): Promise<string | null> {
    const [row]: Array<{ first_name: string }> = await db.query('SELECT first_name FROM patients WHERE id = ?', [id]);
    return row?.first_name ?? null;
  }

  /** "First Last" of one patient (the messages staff read); null if unknown. */
  async fullName(id: number, db: EntityManager = this.dataSource.manager): Promise<string | null> {
    const [row]: Array<{ first_name: string; last_name: string }> = await db.query(
      'SELECT first_name, last_name FROM patients WHERE id = ?',
      [id],
    );
    return row ? `${row.first_name} ${row.last_name}` : null;
  }

  /** Names and email of these patients (reports that list patients by id). */
  async contacts(ids: number[]): Promise<Map<number, { firstName: string; lastName: string; email: string | null }>> {
    const found = new Map<number, { firstName: string; lastName: string; email: string | null }>();
    for (const chunk of chunks([...new Set(ids)])) {
      const rows: Array<{ id: number | string; first_name: string; last_name: string; email: string | null }> =
        await this.dataSource.query(
          `SELECT id, first_name, last_name, email FROM patients WHERE id IN (${placeholders(chunk.length)})`,
          chunk,
        );
      for (const row of rows) found.set(Number(row.id), { firstName: row.first_name, lastName: row.last_name, email: row.email });
    }
    return found;
  }

  /** Moves the version only, so an open form for this patient is refused as stale. */
  async bumpVersion(id: number, tx: EntityManager): Promise<void> {
    await tx.query('UPDATE patients SET version = version + 1 WHERE id = ?', [id]);
  }

  /** The email on file becomes `email` (the email-change rules decide when). */
  async setEmail(id: number, email: string, at: Date, tx: EntityManager): Promise<void> {
    await tx.query(`UPDATE patients SET email = ?, ${BUMP} WHERE id = ?`, [email, toSqlDateTime(at), id]);
  }

  /** The ids among `ids` that exist. */
  async existingIds(ids: number[], db: DataSource | EntityManager = this.dataSource): Promise<Set<number>> {
    const found = new Set<number>();
    for (const chunk of chunks(ids)) {
      const rows: { id: number | string }[] = await db.query(
        `SELECT id FROM patients WHERE id IN (${placeholders(chunk.length)})`,
        chunk,
      );
      rows.forEach((row) => found.add(Number(row.id)));
    }
    return found;
  }

  /** How many patients there are (the demo seed runs only on an empty database). */
  async count(): Promise<number> {
    const [{ total }]: Array<{ total: number | string }> = await this.dataSource.query('SELECT COUNT(*) AS total FROM patients');
    return Number(total);
  }

  /**
   * Patients matching what an admin typed in the audit filter: the MRN (external id) exactly,
   * or a name — "Last, First", "First Last", or the start of either name. At most `limit`.
   */
  async findByNameOrMrn(text: string, limit = 20): Promise<PatientMatch[]> {
    const q = text.trim();
    if (!q) return [];
    const names: { sql: string; params: string[] }[] = [];
    const comma = q.indexOf(',');
    const words = q.split(/\s+/);
    if (comma >= 0) {
      const [last, first] = [q.slice(0, comma).trim(), q.slice(comma + 1).trim()];
      names.push({ sql: `(last_name ${LIKE} AND first_name ${LIKE})`, params: [likePrefix(last), likePrefix(first)] });
    } else if (words.length > 1) {
      names.push({
        sql: `(first_name ${LIKE} AND last_name ${LIKE})`,
        params: [likePrefix(words[0]), likePrefix(words.slice(1).join(' '))],
      });
      names.push({ sql: `last_name ${LIKE}`, params: [likePrefix(q)] });
    } else {
      names.push({ sql: `(last_name ${LIKE} OR first_name ${LIKE})`, params: [likePrefix(q), likePrefix(q)] });
    }
    const rows: Array<{ id: number | string; first_name: string; last_name: string; external_id: string | null }> =
      await this.dataSource.query(
        `SELECT id, first_name, last_name, external_id FROM patients
        WHERE external_id IN (?, ?, ?) OR ${names.map((n) => n.sql).join(' OR ')}
        ORDER BY last_name, first_name, id LIMIT ${Math.max(1, Math.floor(limit))}`,
        // MRNs as typed, upper- or lower-case (SQLite compares case-sensitively; the unique index stays usable).
        [q, q.toUpperCase(), q.toLowerCase(), ...names.flatMap((n) => n.params)],
      );
    return rows.map((row) => ({ id: Number(row.id), name: `${row.last_name}, ${row.first_name}`, externalId: row.external_id }));
  }

  /** Recomputes the denormalised next appointment (call in the transaction that changed appointments). */
  async refreshNextAppointment(tx: EntityManager, patientIds: number[], now = new Date()): Promise<void> {
    for (const chunk of chunks(patientIds)) {
      await tx.query(
        `UPDATE patients SET next_appointment_at = (SELECT MIN(a.starts_at) FROM appointments a WHERE a.patient_id = patients.id AND a.starts_at > ?) WHERE id IN (${placeholders(chunk.length)})`,
        [toSqlDateTime(now), ...chunk],
      );
    }
  }
}

/** A change of a patient's data: the version moves (open forms become stale) and updated_at is set (one bound value). */
const BUMP = 'version = version + 1, updated_at = ?';
