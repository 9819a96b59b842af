import type { EntityManager } from 'typeorm';
import type { AuditContext } from '../audit/audit-context';
import type { AuditEntry, AuditService } from '../audit/audit.service';
import { fromSqlDateTime, insertRows, placeholders, toSqlDateTime } from '../database/sql';
import type { EmailChangeService } from '../portal-access/email-change/email-change.service';
import type { EmailChange } from '../portal-access/portal-email-change.service';
import type { PatientsService } from '../patients/patients.service';
import type { PortalAccessService } from '../portal-access/portal-access.service';
import { patientRefKey, providerRefKey, type ImportCheck, type ImportCounts, type ProviderTarget } from './import-check';
import { phoneDigits } from '../patients/phone-number';
import { addressColumn, POSTAL_ADDRESS_PARTS } from '../patients/postal-address';
import type { ImportJob } from './import-job';
import { foldKey, type AppointmentRecord, type PatientRecord, type ProviderRef } from './import-records';

export interface ApplyDeps {
  audit: AuditService;
  /** Email changes are requested (waiting for approval), never applied by an import. */
  emails: Pick<EmailChangeService, 'requestFromImport'>;
  patients: PatientsService;
  access: PortalAccessService;
}

interface PatientRow {
  id: number | string;
  external_id: string;
  external_id_system: string | null;
  first_name: string;
  last_name: string;
  date_of_birth: Date | string;
  email: string | null;
  phone: string | null;
  preferred_language: string | null;
  primary_provider_id: number | string | null;
  deceased: number | string | boolean;
  deceased_date: string | null;
  /** The postal address columns (address_line1 …), by column name. */
  [addressPart: `address_${string}`]: string | null;
}

const ADDRESS_COLUMNS = POSTAL_ADDRESS_PARTS.map(({ key }) => addressColumn(key));

const dateText = (value: Date | string) =>
  value instanceof Date ? value.toISOString().slice(0, 10) : String(value).slice(0, 10);
const idOrNull = (value: number | string | null) => (value === null ? null : Number(value));

/**
 * Pass 2: compares records with the database in batches (one SELECT per batch, not per
 * row) and, when `write` is set, inserts new rows in multi-row INSERTs and updates only
 * what changed. With `write` off the same comparison gives the dry run's counts. Unchanged
 * rows cause no write and no audit row, so importing the same file again is a no-op.
 */
export class ImportApplier {
  readonly counts: ImportCounts;
  private readonly providerIds = new Map<number, number>();
  private tagIds = new Map<string, number>();
  private readonly now = toSqlDateTime(new Date());
  private newTagSentinel = -1;

  private readonly context: AuditContext;
  private readonly runId: string;
  /** What the audit rows of email changes and deceased patients say about the import. */
  private readonly emailDetails: Record<string, unknown>;

  constructor(
    private readonly db: EntityManager,
    private readonly check: ImportCheck,
    job: ImportJob,
    private readonly write: boolean,
    private readonly deps: ApplyDeps,
  ) {
    this.counts = check.counts;
    this.context = job.context;
    this.runId = job.runId;
    this.emailDetails = { import: job.runId, fileName: job.fileName };
  }

  /**
   * Practitioners of the file, matched to providers by NPI (identifier), else by their FHIR
   * id from an earlier file, else by name — a name match only when it is one provider and
   * neither side has a different NPI (two practitioners may share a name).
   */
  async applyProviders(): Promise<void> {
    const rows: Array<{ id: number | string; name: string; external_id: string | null; fhir_id: string | null }> =
      await this.db.query('SELECT id, name, external_id, fhir_id FROM providers');
    const tags: Array<{ id: number | string; name: string }> = await this.db.query('SELECT id, name FROM tags');
    this.tagIds = new Map(tags.map((tag) => [foldKey(tag.name), Number(tag.id)]));
    const entries: AuditEntry[] = [];
    for (const provider of this.check.providers) {
      if (this.check.rejected.has(provider.source.ordinal)) continue;
      const sameName = rows.filter(
        (row) =>
          foldKey(row.name) === foldKey(provider.name) &&
          (!row.external_id || !provider.externalId || foldKey(row.external_id) === foldKey(provider.externalId)),
      );
      const match =
        (provider.externalId
          ? rows.find((row) => row.external_id && foldKey(row.external_id) === foldKey(provider.externalId!))
          : undefined) ??
        (provider.fhirId ? rows.find((row) => row.fhir_id === provider.fhirId) : undefined) ??
        (sameName.length === 1 ? sameName[0] : undefined);
      const fhirId = provider.fhirId ?? null;
      if (!match) {
        this.counts.providers.new++;
        if (this.write) {
          await insertRows(
            this.db,
            'providers',
            ['name', 'external_id', 'fhir_id', 'active', 'created_at'],
            [[provider.name, provider.externalId, fhirId, 1, this.now]],
          );
          const [created] = await this.db.query('SELECT MAX(id) AS id FROM providers WHERE name = ?', [provider.name]);
          this.providerIds.set(provider.source.ordinal, Number(created.id));
          rows.push({ id: created.id, name: provider.name, external_id: provider.externalId, fhir_id: fhirId });
          entries.push({
            action: 'provider.imported',
            batchId: this.runId,
            details: { change: 'created', name: provider.name, externalId: provider.externalId },
          });
        }
        continue;
      }
      this.providerIds.set(provider.source.ordinal, Number(match.id));
      const changed =
        match.name !== provider.name ||
        (provider.externalId !== null && match.external_id !== provider.externalId) ||
        (fhirId !== null && match.fhir_id !== fhirId);
      if (!changed) {
        this.counts.providers.unchanged++;
        continue;
      }
      this.counts.providers.changed++;
      if (this.write) {
        await this.db.query(
          'UPDATE providers SET name = ?, external_id = COALESCE(?, external_id), fhir_id = COALESCE(?, fhir_id) WHERE id = ?',
          [provider.name, provider.externalId, fhirId, Number(match.id)],
        );
        entries.push({
          action: 'provider.imported',
          batchId: this.runId,
          details: { change: 'updated', name: provider.name, externalId: provider.externalId },
        });
      }
    }
    if (this.write) await this.deps.audit.recordMany(this.context, entries, this.db);
  }

  async applyPatients(batch: PatientRecord[]): Promise<void> {
    const existing: PatientRow[] = await this.db.query(
      `SELECT id, external_id, external_id_system, first_name, last_name, date_of_birth, email, phone, preferred_language, primary_provider_id, deceased, deceased_date, ${ADDRESS_COLUMNS.join(', ')} FROM patients WHERE external_id IN (${placeholders(batch.length)})`,
      batch.map((record) => record.externalId),
    );
    const byKey = new Map(existing.map((row) => [foldKey(row.external_id), row]));
    const tagsOf = await this.tagsOf(
      batch.some((record) => record.tags !== undefined) ? existing.map((row) => Number(row.id)) : [],
    );

    const created: PatientRecord[] = [];
    const updates: Array<{
      id: number;
      record: PatientRecord;
      fields: string[];
      set: Record<string, unknown>;
      tagIds?: number[];
    }> = [];
    const emailChanges: EmailChange[] = [];
    const newlyDeceased: number[] = [];
    for (const record of batch) {
      const providerId =
        record.provider === undefined ? undefined : record.provider === null ? null : this.providerIdOf(record.provider);
      const tagIds = record.tags === undefined ? undefined : await this.tagIdsOf(record.tags);
      const row = byKey.get(foldKey(record.externalId));
      if (!row) {
        created.push(record);
        continue;
      }
      const set: Record<string, unknown> = {};
      if (row.first_name !== record.firstName) set.first_name = record.firstName;
      if (row.last_name !== record.lastName) set.last_name = record.lastName;
      if (dateText(row.date_of_birth) !== record.dateOfBirth) set.date_of_birth = record.dateOfBirth;
      if (record.phone !== undefined && (row.phone ?? null) !== record.phone) set.phone = record.phone;
      if (record.preferredLanguage !== undefined && (row.preferred_language ?? null) !== record.preferredLanguage)
        set.preferred_language = record.preferredLanguage;
      for (const { key } of record.address ? POSTAL_ADDRESS_PARTS : []) {
        const column = addressColumn(key);
        if ((row[column as `address_${string}`] ?? null) !== record.address![key]) set[column] = record.address![key];
      }
      if (providerId !== undefined && idOrNull(row.primary_provider_id) !== providerId) set.primary_provider_id = providerId;
      // The first FHIR file to name the identifier's system records it (check.compareWithDatabase refused a different one).
      if (record.externalIdSystem && !row.external_id_system) set.external_id_system = record.externalIdSystem;
      const wasDeceased = Number(row.deceased) === 1 || row.deceased === true;
      if (record.deceased !== undefined && record.deceased !== wasDeceased) set.deceased = record.deceased ? 1 : 0;
      if (
        record.deceased !== undefined &&
        (record.deceasedDate ?? null) !== (row.deceased_date ?? null) &&
        (record.deceased || wasDeceased)
      )
        set.deceased_date = record.deceasedDate ?? null;
      if (record.deceased === true && !wasDeceased) newlyDeceased.push(Number(row.id));
      const fields = Object.keys(set);
      const tagsChanged = tagIds !== undefined && sameSet(tagsOf.get(Number(row.id)) ?? [], tagIds) === false;
      if (tagsChanged) fields.push('tags');
      // An import replaces an address but never removes one (an empty cell keeps the email on file).
      if (typeof record.email === 'string' && record.email.toLowerCase() !== (row.email ?? '').toLowerCase()) {
        fields.push('email');
        emailChanges.push({ patientId: Number(row.id), firstName: record.firstName, from: row.email, to: record.email });
      }
      if (fields.length === 0) {
        this.counts.patients.unchanged++;
        continue;
      }
      this.counts.patients.changed++;
      // The searchable digits follow the number (not an audited field of its own).
      if ('phone' in set) set.phone_digits = phoneDigits(set.phone as string | null);
      updates.push({ id: Number(row.id), record, fields, set, tagIds: tagsChanged ? tagIds : undefined });
    }
    this.counts.patients.new += created.length;
    this.counts.emailChanges += emailChanges.length;
    this.counts.deceased += newlyDeceased.length + created.filter((record) => record.deceased).length;
    if (!this.write) return;

    const entries: AuditEntry[] = [];
    if (created.length) {
      await insertRows(
        this.db,
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
        created.map((r) => [
          r.externalId,
          r.externalIdSystem ?? null,
          r.firstName,
          r.lastName,
          r.dateOfBirth,
          r.email ?? null,
          r.phone ?? null,
          phoneDigits(r.phone),
          r.preferredLanguage ?? null,
          r.provider ? (this.providerIdOf(r.provider) ?? null) : null,
          r.deceased ? 1 : 0,
          r.deceased ? (r.deceasedDate ?? null) : null,
          ...POSTAL_ADDRESS_PARTS.map(({ key }) => r.address?.[key] ?? null),
          1,
          this.now,
          this.now,
        ]),
      );
      const ids: Array<{ id: number | string; external_id: string }> = await this.db.query(
        `SELECT id, external_id FROM patients WHERE external_id IN (${placeholders(created.length)})`,
        created.map((r) => r.externalId),
      );
      const idOf = new Map(ids.map((row) => [foldKey(row.external_id), Number(row.id)]));
      // Every patient has a portal account row from the start: red (access not enabled).
      await insertRows(
        this.db,
        'portal_accounts',
        ['patient_id', 'access_enabled', 'version', 'updated_at'],
        created.map((r) => [idOf.get(foldKey(r.externalId)), 0, 1, this.now]),
      );
      await insertRows(
        this.db,
        'patient_tags',
        ['patient_id', 'tag_id'],
        created.flatMap((r) => (r.tags ? this.knownTagIds(r.tags).map((tagId) => [idOf.get(foldKey(r.externalId)), tagId]) : [])),
      );
      for (const r of created)
        entries.push({
          action: 'patient.imported',
          patientId: idOf.get(foldKey(r.externalId)),
          batchId: this.runId,
          details: r.deceased ? { change: 'created', deceased: true } : { change: 'created' },
        });
    }
    for (const update of updates) {
      const columns = Object.keys(update.set);
      if (columns.length) {
        await this.db.query(
          `UPDATE patients SET ${columns.map((c) => `${c} = ?`).join(', ')}, version = version + 1, updated_at = ? WHERE id = ?`,
          [...Object.values(update.set), this.now, update.id],
        );
      }
      if (update.tagIds) {
        await this.db.query('DELETE FROM patient_tags WHERE patient_id = ?', [update.id]);
        await insertRows(
          this.db,
          'patient_tags',
          ['patient_id', 'tag_id'],
          update.tagIds.map((tagId) => [update.id, tagId]),
        );
      }
      entries.push({
        action: 'patient.imported',
        patientId: update.id,
        batchId: this.runId,
        details: { change: 'updated', fields: update.fields },
      });
    }
    if (emailChanges.length) await this.deps.emails.requestFromImport(this.db, emailChanges, this.context, this.emailDetails);
    // Last, so that nothing queued above (an email-change notice) still goes out to a deceased patient's address.
    if (newlyDeceased.length)
      await this.deps.access.closeForDeceased(this.db, newlyDeceased, this.context, {
        ...this.emailDetails,
        batchId: this.runId,
      });
    await this.deps.audit.recordMany(this.context, entries, this.db);
  }

  async applyAppointments(batch: AppointmentRecord[]): Promise<void> {
    const patientExternalIds = batch.map((record) => this.check.patientTargets.get(patientRefKey(record.patient))!);
    const patients: Array<{ id: number | string; external_id: string }> = await this.db.query(
      `SELECT id, external_id FROM patients WHERE external_id IN (${placeholders(batch.length)})`,
      patientExternalIds,
    );
    const patientIdOf = new Map(patients.map((row) => [foldKey(row.external_id), Number(row.id)]));
    const existing: Array<{
      id: number | string;
      external_id: string;
      patient_id: number | string;
      provider_id: number | string | null;
      starts_at: Date | string;
    }> = await this.db.query(
      `SELECT id, external_id, patient_id, provider_id, starts_at FROM appointments WHERE external_id IN (${placeholders(batch.length)})`,
      batch.map((record) => record.externalId),
    );
    const byKey = new Map(existing.map((row) => [foldKey(row.external_id), row]));
    const inserts: unknown[][] = [];
    const touched = new Set<number>();
    for (const [i, record] of batch.entries()) {
      const patientId = patientIdOf.get(foldKey(patientExternalIds[i])) ?? null;
      const providerId = record.provider ? (this.providerIdOf(record.provider) ?? null) : null;
      const startsAt = toSqlDateTime(record.startsAt);
      const row = byKey.get(foldKey(record.externalId));
      if (!row) {
        this.counts.appointments.new++;
        inserts.push([record.externalId, patientId, providerId, startsAt, this.now]);
        if (patientId !== null) touched.add(patientId);
        continue;
      }
      const same =
        Number(row.patient_id) === patientId &&
        idOrNull(row.provider_id) === providerId &&
        toSqlDateTime(fromSqlDateTime(row.starts_at)!) === startsAt;
      if (same) {
        this.counts.appointments.unchanged++;
        continue;
      }
      this.counts.appointments.changed++;
      if (this.write) {
        await this.db.query('UPDATE appointments SET patient_id = ?, provider_id = ?, starts_at = ? WHERE id = ?', [
          patientId,
          providerId,
          startsAt,
          Number(row.id),
        ]);
        touched.add(Number(row.patient_id));
        touched.add(patientId!);
      }
    }
    if (!this.write) return;
    if (inserts.some((row) => row[1] === null))
      throw new Error('An appointment lost its patient between the check and the write.');
    await insertRows(this.db, 'appointments', ['external_id', 'patient_id', 'provider_id', 'starts_at', 'created_at'], inserts);
    // patients.next_appointment_at follows appointments in the same transaction (the onboarding filter reads it).
    await this.deps.patients.refreshNextAppointment(this.db, [...touched]);
  }

  /** The provider a reference resolved to; undefined when it resolved to nothing (a warning: left as it is). */
  private providerIdOf(ref: ProviderRef): number | undefined {
    const target: ProviderTarget | undefined = this.check.providerTargets.get(providerRefKey(ref));
    if (!target) return undefined;
    // A Practitioner that is new in a dry run has no id yet: -1 stands for "a provider", never written.
    return 'db' in target ? target.db : (this.providerIds.get(target.file) ?? -1);
  }

  private async tagsOf(patientIds: number[]): Promise<Map<number, number[]>> {
    const result = new Map<number, number[]>();
    if (patientIds.length === 0) return result;
    const rows: Array<{ patient_id: number | string; tag_id: number | string }> = await this.db.query(
      `SELECT patient_id, tag_id FROM patient_tags WHERE patient_id IN (${placeholders(patientIds.length)})`,
      patientIds,
    );
    for (const row of rows)
      result.set(Number(row.patient_id), [...(result.get(Number(row.patient_id)) ?? []), Number(row.tag_id)]);
    return result;
  }

  /** Tag ids by name; a tag new to the clinic is created (in a dry run it gets a stand-in id). */
  private async tagIdsOf(names: string[]): Promise<number[]> {
    for (const name of names) {
      if (this.tagIds.has(foldKey(name))) continue;
      if (!this.write) {
        this.tagIds.set(foldKey(name), this.newTagSentinel--);
        continue;
      }
      await insertRows(this.db, 'tags', ['name', 'created_at'], [[name, this.now]]);
      const [row] = await this.db.query('SELECT id FROM tags WHERE name = ?', [name]);
      this.tagIds.set(foldKey(name), Number(row.id));
    }
    return this.knownTagIds(names);
  }

  private knownTagIds(names: string[]): number[] {
    return [...new Set(names.map((name) => this.tagIds.get(foldKey(name))!))];
  }
}

function sameSet(a: number[], b: number[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((value) => right.has(value));
}
