import type { EntityManager } from 'typeorm';
import type { AuditContext } from '../audit/audit-context';
import type { AuditEntry, AuditService } from '../audit/audit.service';
import { toSqlDateTime } from '../database/sql';
import type { EmailChangeService } from '../portal-access/email-change/email-change.service';
import type { EmailChange } from '../portal-access/portal-email-change.service';
import type { ImportedPatientChange, PatientImportRepository } from '../patients/patient-import.repository';
import type { PatientsService } from '../patients/patients.service';
import type { PortalAccessService } from '../portal-access/portal-access.service';
import type { PortalAccountsRepository } from '../portal-access/portal-accounts.repository';
import { patientRefKey, providerRefKey, type ImportCheck, type ImportCounts, type ProviderTarget } from './import-check';
import { addressColumn, POSTAL_ADDRESS_PARTS } from '../patients/postal-address';
import type { ImportJob } from './import-job';
import { foldKey, type AppointmentRecord, type PatientRecord, type ProviderRef } from './import-records';

export interface ApplyDeps {
  audit: AuditService;
  /** Email changes are requested (waiting for approval), never applied by an import. */
  emails: Pick<EmailChangeService, 'requestFromImport'>;
  patients: PatientsService;
  /** The patients module's tables (patients, tags, providers, appointments) as an import writes them. */
  records: PatientImportRepository;
  /** portal_accounts: a new patient's account row. */
  accounts: Pick<PortalAccountsRepository, 'createForNewPatients'>;
  access: PortalAccessService;
}

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
  /** One time for every row the import writes. */
  private readonly now = new Date();
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
    const rows = await this.deps.records.providers(this.db);
    const tags = await this.deps.records.tags(this.db);
    this.tagIds = new Map(tags.map((tag) => [foldKey(tag.name), tag.id]));
    const entries: AuditEntry[] = [];
    for (const provider of this.check.providers) {
      if (this.check.rejected.has(provider.source.ordinal)) continue;
      const sameName = rows.filter(
        (row) =>
          foldKey(row.name) === foldKey(provider.name) &&
          (!row.externalId || !provider.externalId || foldKey(row.externalId) === foldKey(provider.externalId)),
      );
      const match =
        (provider.externalId
          ? rows.find((row) => row.externalId && foldKey(row.externalId) === foldKey(provider.externalId!))
          : undefined) ??
        (provider.fhirId ? rows.find((row) => row.fhirId === provider.fhirId) : undefined) ??
        (sameName.length === 1 ? sameName[0] : undefined);
      const fhirId = provider.fhirId ?? null;
      if (!match) {
        this.counts.providers.new++;
        if (this.write) {
          const created = { name: provider.name, externalId: provider.externalId, fhirId };
          const id = await this.deps.records.insertProvider(created, this.now, this.db);
          this.providerIds.set(provider.source.ordinal, id);
          rows.push({ id, ...created });
          entries.push({
            action: 'provider.imported',
            batchId: this.runId,
            details: { change: 'created', name: provider.name, externalId: provider.externalId },
          });
        }
        continue;
      }
      this.providerIds.set(provider.source.ordinal, match.id);
      const changed =
        match.name !== provider.name ||
        (provider.externalId !== null && match.externalId !== provider.externalId) ||
        (fhirId !== null && match.fhirId !== fhirId);
      if (!changed) {
        this.counts.providers.unchanged++;
        continue;
      }
      this.counts.providers.changed++;
      if (this.write) {
        await this.deps.records.updateProvider(
          match.id,
          { name: provider.name, externalId: provider.externalId, fhirId },
          this.db,
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
    const { records } = this.deps;
    const existing = await records.byExternalIds(
      batch.map((record) => record.externalId),
      this.db,
    );
    const byKey = new Map(existing.map((row) => [foldKey(row.externalId), row]));
    const tagsOf = await records.tagsOf(
      batch.some((record) => record.tags !== undefined) ? existing.map((row) => row.id) : [],
      this.db,
    );

    const created: PatientRecord[] = [];
    const updates: Array<{
      id: number;
      record: PatientRecord;
      fields: string[];
      set: ImportedPatientChange;
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
      const set: ImportedPatientChange = {};
      if (row.firstName !== record.firstName) set.first_name = record.firstName;
      if (row.lastName !== record.lastName) set.last_name = record.lastName;
      if (row.dateOfBirth !== record.dateOfBirth) set.date_of_birth = record.dateOfBirth;
      if (record.phone !== undefined && row.phone !== record.phone) set.phone = record.phone;
      if (record.preferredLanguage !== undefined && row.preferredLanguage !== record.preferredLanguage)
        set.preferred_language = record.preferredLanguage;
      for (const { key } of record.address ? POSTAL_ADDRESS_PARTS : []) {
        if (row.address[key] !== record.address![key]) set[addressColumn(key) as `address_${string}`] = record.address![key];
      }
      if (providerId !== undefined && row.primaryProviderId !== providerId) set.primary_provider_id = providerId;
      // The first FHIR file to name the identifier's system records it (check.compareWithDatabase refused a different one).
      if (record.externalIdSystem && !row.externalIdSystem) set.external_id_system = record.externalIdSystem;
      const wasDeceased = row.deceased;
      if (record.deceased !== undefined && record.deceased !== wasDeceased) set.deceased = record.deceased ? 1 : 0;
      if (record.deceased !== undefined && (record.deceasedDate ?? null) !== row.deceasedDate && (record.deceased || wasDeceased))
        set.deceased_date = record.deceasedDate ?? null;
      if (record.deceased === true && !wasDeceased) newlyDeceased.push(row.id);
      const fields = Object.keys(set);
      const tagsChanged = tagIds !== undefined && sameSet(tagsOf.get(row.id) ?? [], tagIds) === false;
      if (tagsChanged) fields.push('tags');
      // An import replaces an address but never removes one (an empty cell keeps the email on file).
      if (typeof record.email === 'string' && record.email.toLowerCase() !== (row.email ?? '').toLowerCase()) {
        fields.push('email');
        emailChanges.push({ patientId: row.id, firstName: record.firstName, from: row.email, to: record.email });
      }
      if (fields.length === 0) {
        this.counts.patients.unchanged++;
        continue;
      }
      this.counts.patients.changed++;
      updates.push({ id: row.id, record, fields, set, tagIds: tagsChanged ? tagIds : undefined });
    }
    this.counts.patients.new += created.length;
    this.counts.emailChanges += emailChanges.length;
    this.counts.deceased += newlyDeceased.length + created.filter((record) => record.deceased).length;
    if (!this.write) return;

    const entries: AuditEntry[] = [];
    if (created.length) {
      const ids = await records.insertImported(
        created.map((r) => ({
          externalId: r.externalId,
          externalIdSystem: r.externalIdSystem ?? null,
          firstName: r.firstName,
          lastName: r.lastName,
          dateOfBirth: r.dateOfBirth,
          email: r.email ?? null,
          phone: r.phone ?? null,
          preferredLanguage: r.preferredLanguage ?? null,
          primaryProviderId: r.provider ? (this.providerIdOf(r.provider) ?? null) : null,
          deceased: r.deceased === true,
          deceasedDate: r.deceasedDate ?? null,
          address: r.address ?? null,
        })),
        this.now,
        this.db,
      );
      const idOf = new Map(ids.map((row) => [foldKey(row.externalId), row.id]));
      // Every patient has a portal account row from the start: red (access not enabled).
      await this.deps.accounts.createForNewPatients(
        created.map((r) => idOf.get(foldKey(r.externalId))!),
        this.now,
        this.db,
      );
      await records.addTags(
        created.flatMap((r) =>
          r.tags ? this.knownTagIds(r.tags).map((tagId) => ({ patientId: idOf.get(foldKey(r.externalId))!, tagId })) : [],
        ),
        this.db,
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
      if (Object.keys(update.set).length) await records.updateImported(update.id, update.set, this.now, this.db);
      if (update.tagIds) await records.replaceTags(update.id, update.tagIds, this.db);
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
    const { records } = this.deps;
    const patientExternalIds = batch.map((record) => this.check.patientTargets.get(patientRefKey(record.patient))!);
    const patients = await records.idsByExternalIds(patientExternalIds, this.db);
    const patientIdOf = new Map(patients.map((row) => [foldKey(row.externalId), row.id]));
    const existing = await records.appointmentsByExternalIds(
      batch.map((record) => record.externalId),
      this.db,
    );
    const byKey = new Map(existing.map((row) => [foldKey(row.externalId), row]));
    const inserts: Array<{ externalId: string; patientId: number | null; providerId: number | null; startsAt: Date }> = [];
    const touched = new Set<number>();
    for (const [i, record] of batch.entries()) {
      const patientId = patientIdOf.get(foldKey(patientExternalIds[i])) ?? null;
      const providerId = record.provider ? (this.providerIdOf(record.provider) ?? null) : null;
      const row = byKey.get(foldKey(record.externalId));
      if (!row) {
        this.counts.appointments.new++;
        inserts.push({ externalId: record.externalId, patientId, providerId, startsAt: record.startsAt });
        if (patientId !== null) touched.add(patientId);
        continue;
      }
      const same =
        row.patientId === patientId &&
        row.providerId === providerId &&
        toSqlDateTime(row.startsAt) === toSqlDateTime(record.startsAt);
      if (same) {
        this.counts.appointments.unchanged++;
        continue;
      }
      this.counts.appointments.changed++;
      if (this.write) {
        await records.moveAppointment(row.id, { patientId: patientId!, providerId, startsAt: record.startsAt }, this.db);
        touched.add(row.patientId);
        touched.add(patientId!);
      }
    }
    if (!this.write) return;
    const placed = inserts.filter((row): row is (typeof inserts)[number] & { patientId: number } => row.patientId !== null);
    if (placed.length < inserts.length) throw new Error('An appointment lost its patient between the check and the write.');
    await records.insertAppointments(placed, this.now, this.db);
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

  /** Tag ids by name; a tag new to the clinic is created (in a dry run it gets a stand-in id). */
  private async tagIdsOf(names: string[]): Promise<number[]> {
    for (const name of names) {
      if (this.tagIds.has(foldKey(name))) continue;
      if (!this.write) {
        this.tagIds.set(foldKey(name), this.newTagSentinel--);
        continue;
      }
      this.tagIds.set(foldKey(name), await this.deps.records.insertTag(name, this.now, this.db));
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
