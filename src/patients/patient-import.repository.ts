import { ActivationFunnelRepository } from './activation-funnel.repository';
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { fromSqlDateTime, insertRows, placeholders, toSqlDateTime } from '../database/sql';
import { phoneDigits } from './phone-number';
import { addressColumn, POSTAL_ADDRESS_PARTS, type PostalAddress } from './postal-address';

/** A provider as an import matches it: by NPI (external id), by the FHIR id an earlier file stored, or by name. */
export interface ProviderOnFile {
  id: number;
  name: string;
  externalId: string | null;
  fhirId: string | null;
}

/** A patient on file as an import's check sees it. */
export interface PatientIdentity {
  externalId: string;
  externalIdSystem: string | null;
  firstName: string;
  lastName: string;
  /** YYYY-MM-DD */
  dateOfBirth: string;
}

/** A patient on file, with every field an import may compare and change. */
export interface ImportedPatientRow {
  id: number;
  externalId: string;
  externalIdSystem: string | null;
  firstName: string;
  lastName: string;
  /** YYYY-MM-DD */
  dateOfBirth: string;
  email: string | null;
  phone: string | null;
  preferredLanguage: string | null;
  primaryProviderId: number | null;
  deceased: boolean;
  deceasedDate: string | null;
  address: Record<keyof PostalAddress, string | null>;
}

/** A patient an import creates (its portal account row is the portal-access module's). */
export interface NewImportedPatient {
  externalId: string;
  externalIdSystem: string | null;
  firstName: string;
  lastName: string;
  dateOfBirth: string;
  email: string | null;
  phone: string | null;
  preferredLanguage: string | null;
  primaryProviderId: number | null;
  deceased: boolean;
  deceasedDate: string | null;
  address: Partial<Record<keyof PostalAddress, string | null>> | null;
}

/** The columns an import may change on a patient it matched (what `updateImported` accepts). */
export interface ImportedPatientChange {
  first_name?: string;
  last_name?: string;
  date_of_birth?: string;
  phone?: string | null;
  preferred_language?: string | null;
  primary_provider_id?: number | null;
  external_id_system?: string;
  deceased?: 0 | 1;
  deceased_date?: string | null;
  /** The postal address columns (address_line1 …). */
  [addressColumn: `address_${string}`]: string | null;
}

/** A demo patient: a fixed id so the seed can attach its rows without reading ids back. */
export interface DemoPatient {
  id: number;
  externalId: string;
  firstName: string;
  lastName: string;
  dateOfBirth: string;
  email: string | null;
  phone: string | null;
  primaryProviderId: number | null;
  nextAppointmentAt: Date | null;
  address: PostalAddress | null;
}

export interface AppointmentOnFile {
  id: number;
  externalId: string;
  patientId: number;
  providerId: number | null;
  startsAt: Date;
}

const ADDRESS_COLUMNS = POSTAL_ADDRESS_PARTS.map(({ key }) => addressColumn(key));
const CHANGEABLE = new Set<string>([
  'first_name',
  'last_name',
  'date_of_birth',
  'phone',
  'preferred_language',
  'primary_provider_id',
  'external_id_system',
  'deceased',
  'deceased_date',
  ...ADDRESS_COLUMNS,
]);
const dateText = (value: Date | string) =>
  value instanceof Date ? value.toISOString().slice(0, 10) : String(value).slice(0, 10);
const idOrNull = (value: number | string | null) => (value === null ? null : Number(value));

/**
 * The patients module's tables as bulk loads write them — the import (CSV/FHIR) and the demo
 * seed: patients, patient_tags, providers, tags and appointments, in batches (one SELECT or
 * multi-row INSERT per batch of ids), always inside the caller's one transaction (`db`).
 * PatientsRepository holds the single-patient queries of the pages; like it, every change of
 * a patient row moves its `version`. A provider or tag change updates the activation funnel's summary
 * (ActivationFunnelRepository) in the same transaction, after the patient's rows.
 */
@Injectable()
export class PatientImportRepository {
  constructor(private readonly funnel: ActivationFunnelRepository) {}

  async providers(db: EntityManager): Promise<ProviderOnFile[]> {
    const rows: Array<{ id: number | string; name: string; external_id: string | null; fhir_id: string | null }> = await db.query(
      'SELECT id, name, external_id, fhir_id FROM providers',
    );
    return rows.map((row) => ({ id: Number(row.id), name: row.name, externalId: row.external_id, fhirId: row.fhir_id }));
  }

  async insertProvider(provider: Omit<ProviderOnFile, 'id'>, at: Date, db: EntityManager): Promise<number> {
    await insertRows(
      db,
      'providers',
      ['name', 'external_id', 'fhir_id', 'active', 'created_at'],
      [[provider.name, provider.externalId, provider.fhirId, 1, toSqlDateTime(at)]],
    );
    // Names are not unique (two practitioners may share one): the newest row of that name is this one.
    const [created] = await db.query('SELECT MAX(id) AS id FROM providers WHERE name = ?', [provider.name]);
    return Number(created.id);
  }

  /** A null external id or FHIR id keeps the one on file. */
  async updateProvider(id: number, provider: Omit<ProviderOnFile, 'id'>, db: EntityManager): Promise<void> {
    await db.query(
      'UPDATE providers SET name = ?, external_id = COALESCE(?, external_id), fhir_id = COALESCE(?, fhir_id) WHERE id = ?',
      [provider.name, provider.externalId, provider.fhirId, id],
    );
  }

  async tags(db: EntityManager): Promise<Array<{ id: number; name: string }>> {
    const rows: Array<{ id: number | string; name: string }> = await db.query('SELECT id, name FROM tags');
    return rows.map((row) => ({ id: Number(row.id), name: row.name }));
  }

  async insertTag(name: string, at: Date, db: EntityManager): Promise<number> {
    await insertRows(db, 'tags', ['name', 'created_at'], [[name, toSqlDateTime(at)]]);
    const [row] = await db.query('SELECT id FROM tags WHERE name = ?', [name]);
    return Number(row.id);
  }

  /** Rows with these names exist afterwards (the demo seed's providers and tags); their ids in the given order. */
  async ensureNamed(table: 'providers' | 'tags', names: string[], at: Date, db: EntityManager): Promise<number[]> {
    const named = async () => (table === 'tags' ? this.tags(db) : this.providers(db));
    const existing = await named();
    const missing = names.filter((name) => !existing.some((row) => row.name === name));
    if (missing.length)
      await insertRows(
        db,
        table,
        ['name', 'created_at'],
        missing.map((name) => [name, toSqlDateTime(at)]),
      );
    const rows = missing.length ? await named() : existing;
    return names.map((name) => rows.find((row) => row.name === name)!.id);
  }

  /** The patients of these external ids, with every field an import compares (one SELECT per batch). */
  async byExternalIds(externalIds: string[], db: EntityManager): Promise<ImportedPatientRow[]> {
    if (externalIds.length === 0) return [];
    const rows: Array<Record<string, unknown>> = await db.query(
      `SELECT id, external_id, external_id_system, first_name, last_name, date_of_birth, email, phone, preferred_language, primary_provider_id, deceased, deceased_date, ${ADDRESS_COLUMNS.join(', ')} FROM patients WHERE external_id IN (${placeholders(externalIds.length)})`,
      externalIds,
    );
    return rows.map((row) => ({
      id: Number(row.id),
      externalId: row.external_id as string,
      externalIdSystem: (row.external_id_system as string | null) ?? null,
      firstName: row.first_name as string,
      lastName: row.last_name as string,
      dateOfBirth: dateText(row.date_of_birth as Date | string),
      email: (row.email as string | null) ?? null,
      phone: (row.phone as string | null) ?? null,
      preferredLanguage: (row.preferred_language as string | null) ?? null,
      primaryProviderId: idOrNull(row.primary_provider_id as number | string | null),
      deceased: Number(row.deceased) === 1 || row.deceased === true,
      deceasedDate: (row.deceased_date as string | null) ?? null,
      address: Object.fromEntries(
        POSTAL_ADDRESS_PARTS.map(({ key }) => [key, (row[addressColumn(key)] as string | null) ?? null]),
      ) as ImportedPatientRow['address'],
    }));
  }

  /** Who the patients of these external ids are: what an import compares before it trusts a match. */
  async identitiesByExternalIds(externalIds: string[], db: EntityManager): Promise<PatientIdentity[]> {
    if (externalIds.length === 0) return [];
    const rows: Array<{
      external_id: string;
      external_id_system: string | null;
      first_name: string;
      last_name: string;
      date_of_birth: Date | string;
    }> = await db.query(
      `SELECT external_id, external_id_system, first_name, last_name, date_of_birth FROM patients WHERE external_id IN (${placeholders(externalIds.length)})`,
      externalIds,
    );
    return rows.map((row) => ({
      externalId: row.external_id,
      externalIdSystem: row.external_id_system,
      firstName: row.first_name,
      lastName: row.last_name,
      dateOfBirth: dateText(row.date_of_birth),
    }));
  }

  /** Id and external id of the patients of these external ids. */
  async idsByExternalIds(externalIds: string[], db: EntityManager): Promise<Array<{ id: number; externalId: string }>> {
    if (externalIds.length === 0) return [];
    const rows: Array<{ id: number | string; external_id: string }> = await db.query(
      `SELECT id, external_id FROM patients WHERE external_id IN (${placeholders(externalIds.length)})`,
      externalIds,
    );
    return rows.map((row) => ({ id: Number(row.id), externalId: row.external_id }));
  }

  /** New patients in multi-row INSERTs; returns their ids (by external id, as stored). */
  async insertImported(
    patients: NewImportedPatient[],
    at: Date,
    db: EntityManager,
  ): Promise<Array<{ id: number; externalId: string }>> {
    if (patients.length === 0) return [];
    const now = toSqlDateTime(at);
    await insertRows(
      db,
      'patients',
      [
        'external_id',
        'external_id_system',
        'first_name',
        'last_name',
        'date_of_birth',
        'email',
        'phone',
        'phone_digits',
        'preferred_language',
        'primary_provider_id',
        'deceased',
        'deceased_date',
        ...ADDRESS_COLUMNS,
        'version',
        'created_at',
        'updated_at',
      ],
      patients.map((p) => [
        p.externalId,
        p.externalIdSystem,
        p.firstName,
        p.lastName,
        p.dateOfBirth,
        p.email,
        p.phone,
        phoneDigits(p.phone),
        p.preferredLanguage,
        p.primaryProviderId,
        p.deceased ? 1 : 0,
        p.deceased ? p.deceasedDate : null,
        ...POSTAL_ADDRESS_PARTS.map(({ key }) => p.address?.[key] ?? null),
        1,
        now,
        now,
      ]),
    );
    return this.idsByExternalIds(
      patients.map((p) => p.externalId),
      db,
    );
  }

  /** Writes what an import changed on a matched patient (the searchable phone digits follow the phone). */
  async updateImported(id: number, change: ImportedPatientChange, at: Date, db: EntityManager): Promise<void> {
    const set: Record<string, unknown> = { ...change };
    const unknown = Object.keys(set).filter((column) => !CHANGEABLE.has(column));
    if (unknown.length) throw new Error(`An import cannot change ${unknown.join(', ')}.`);
    if ('phone' in set) set.phone_digits = phoneDigits(set.phone as string | null);
    const columns = Object.keys(set);
    if (columns.length === 0) return;
    await db.query(
      `UPDATE patients SET ${columns.map((c) => `${c} = ?`).join(', ')}, version = version + 1, updated_at = ? WHERE id = ?`,
      [...Object.values(set), toSqlDateTime(at), id],
    );
    if ('primary_provider_id' in set)
      await this.funnel.providerChanged(id, (set.primary_provider_id as number | null | undefined) ?? null, db);
  }

  /** Demo patients with their own ids (multi-row INSERTs; 100k in seconds). */
  async insertDemo(patients: DemoPatient[], at: Date, db: EntityManager): Promise<void> {
    const now = toSqlDateTime(at);
    await insertRows(
      db,
      'patients',
      [
        'id',
        'external_id',
        'first_name',
        'last_name',
        'date_of_birth',
        'email',
        'phone',
        'phone_digits',
        'primary_provider_id',
        'next_appointment_at',
        'version',
        'created_at',
        'updated_at',
        ...POSTAL_ADDRESS_PARTS.map(({ key }) => addressColumn(key)),
      ],
      patients.map((p) => [
        p.id,
        p.externalId,
        p.firstName,
        p.lastName,
        p.dateOfBirth,
        p.email,
        p.phone,
        phoneDigits(p.phone),
        p.primaryProviderId,
        p.nextAppointmentAt ? toSqlDateTime(p.nextAppointmentAt) : null,
        1,
        now,
        now,
        ...POSTAL_ADDRESS_PARTS.map(({ key }) => p.address?.[key] ?? null),
      ]),
    );
  }

  async maxPatientId(db: EntityManager): Promise<number> {
    const [{ maxId }] = await db.query('SELECT COALESCE(MAX(id), 0) AS maxId FROM patients');
    return Number(maxId);
  }

  /** Each patient's tag ids. */
  async tagsOf(patientIds: number[], db: EntityManager): Promise<Map<number, number[]>> {
    const result = new Map<number, number[]>();
    if (patientIds.length === 0) return result;
    const rows: Array<{ patient_id: number | string; tag_id: number | string }> = await db.query(
      `SELECT patient_id, tag_id FROM patient_tags WHERE patient_id IN (${placeholders(patientIds.length)})`,
      patientIds,
    );
    for (const row of rows)
      result.set(Number(row.patient_id), [...(result.get(Number(row.patient_id)) ?? []), Number(row.tag_id)]);
    return result;
  }

  async addTags(pairs: Array<{ patientId: number; tagId: number }>, db: EntityManager): Promise<void> {
    await this.insertTags(pairs, db);
    await this.funnel.tagsChanged(
      pairs.map((pair) => pair.patientId),
      db,
    );
  }

  /** The patient's tags become exactly `tagIds`. */
  async replaceTags(patientId: number, tagIds: number[], db: EntityManager): Promise<void> {
    await db.query('DELETE FROM patient_tags WHERE patient_id = ?', [patientId]);
    await this.insertTags(
      [...new Set(tagIds)].map((tagId) => ({ patientId, tagId })),
      db,
    );
    await this.funnel.tagsChanged([patientId], db);
  }

  private async insertTags(pairs: Array<{ patientId: number; tagId: number }>, db: EntityManager): Promise<void> {
    await insertRows(
      db,
      'patient_tags',
      ['patient_id', 'tag_id'],
      pairs.map((pair) => [pair.patientId, pair.tagId]),
    );
  }

  async appointmentsByExternalIds(externalIds: string[], db: EntityManager): Promise<AppointmentOnFile[]> {
    if (externalIds.length === 0) return [];
    const rows: Array<{
      id: number | string;
      external_id: string;
      patient_id: number | string;
      provider_id: number | string | null;
      starts_at: Date | string;
    }> = await db.query(
      `SELECT id, external_id, patient_id, provider_id, starts_at FROM appointments WHERE external_id IN (${placeholders(externalIds.length)})`,
      externalIds,
    );
    return rows.map((row) => ({
      id: Number(row.id),
      externalId: row.external_id,
      patientId: Number(row.patient_id),
      providerId: idOrNull(row.provider_id),
      startsAt: fromSqlDateTime(row.starts_at)!,
    }));
  }

  /** Appointments in multi-row INSERTs (an import's carry its external id; the demo seed's have none). */
  async insertAppointments(
    appointments: Array<{ externalId?: string; patientId: number; providerId: number | null; startsAt: Date }>,
    at: Date,
    db: EntityManager,
  ): Promise<void> {
    const now = toSqlDateTime(at);
    const withIds = appointments.filter((a) => a.externalId !== undefined);
    const without = appointments.filter((a) => a.externalId === undefined);
    await insertRows(
      db,
      'appointments',
      ['external_id', 'patient_id', 'provider_id', 'starts_at', 'created_at'],
      withIds.map((a) => [a.externalId, a.patientId, a.providerId, toSqlDateTime(a.startsAt), now]),
    );
    await insertRows(
      db,
      'appointments',
      ['patient_id', 'provider_id', 'starts_at', 'created_at'],
      without.map((a) => [a.patientId, a.providerId, toSqlDateTime(a.startsAt), now]),
    );
  }

  async moveAppointment(
    id: number,
    to: { patientId: number; providerId: number | null; startsAt: Date },
    db: EntityManager,
  ): Promise<void> {
    await db.query('UPDATE appointments SET patient_id = ?, provider_id = ?, starts_at = ? WHERE id = ?', [
      to.patientId,
      to.providerId,
      toSqlDateTime(to.startsAt),
      id,
    ]);
  }
}
