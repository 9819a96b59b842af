import type { EntityManager } from 'typeorm';
import { chunks } from '../database/sql';
import type { PatientIdentity, PatientImportRepository, ProviderOnFile } from '../patients/patient-import.repository';
import {
  foldKey,
  importProblem,
  type ImportProblem,
  type ParsedItem,
  type ProviderRecord,
  type ProviderRef,
} from './import-records';
import type { IgnoredItem } from './parsers/fhir-import.parser';

/** Where a provider reference points: a Practitioner of the file (by ordinal) or a provider already in the database. */
export type ProviderTarget = { file: number } | { db: number };

export interface Tally {
  new: number;
  changed: number;
  unchanged: number;
}

export interface ImportCounts {
  /** Rows (CSV lines, FHIR entries/lines) read, imported or not. */
  rows: number;
  rejected: number;
  patients: Tally;
  providers: Tally;
  appointments: Tally;
  /** Of the changed patients: email replaced (links revoked, old address told). */
  emailChanges: number;
  /** Patients newly recorded as deceased (access disabled, links revoked, emails cancelled, sessions ended). */
  deceased: number;
  /** Rows imported with a caveat (a practitioner reference that resolves to nothing). */
  warnings: number;
  /** Not imported on purpose (other FHIR resource types, cancelled appointments), by reason. */
  ignored: Record<string, number>;
}

export const MAX_PROBLEMS_KEPT = 20_000;
const MAX_IGNORED_KINDS = 50;
export const OTHER_IGNORED = importProblem('otherNotImported');
/** Patients compared with the database per query in pass 1 ("looks like a different person"). */
const COMPARE_BATCH = 1000;

const tally = (): Tally => ({ new: 0, changed: 0, unchanged: 0 });
export const emptyCounts = (): ImportCounts => ({
  rows: 0,
  rejected: 0,
  patients: tally(),
  providers: tally(),
  appointments: tally(),
  emailChanges: 0,
  deceased: 0,
  warnings: 0,
  ignored: {},
});

/** A patient on file, as the comparison needs it. */
export type PatientOnFile = PatientIdentity;

/**
 * What the check reads of what is on file: the patients module's tables through its import
 * repository (`onFile`), lists in the unit specs.
 */
export interface PatientsOnFile {
  byExternalIds(externalIds: string[]): Promise<PatientOnFile[]>;
  /** The external ids of these that are on file (as stored). */
  existingExternalIds(externalIds: string[]): Promise<string[]>;
  providers(): Promise<ProviderOnFile[]>;
}

export function onFile(records: PatientImportRepository, db: EntityManager): PatientsOnFile {
  return {
    byExternalIds: (externalIds) => records.identitiesByExternalIds(externalIds, db),
    existingExternalIds: async (externalIds) => (await records.idsByExternalIds(externalIds, db)).map((row) => row.externalId),
    providers: () => records.providers(db),
  };
}

interface RefUse {
  ordinals: number[];
  labels: string[];
}

export const providerRefKey = (ref: ProviderRef) =>
  JSON.stringify([ref.reference ?? '', ref.externalId ? foldKey(ref.externalId) : '', ref.name ? foldKey(ref.name) : '']);
export const patientRefKey = (ref: { reference?: string; externalId?: string }) =>
  JSON.stringify([ref.reference ?? '', ref.externalId ? foldKey(ref.externalId) : '']);

/**
 * Pass 1 over a file: every record is checked and only what later checks need is kept
 * (keys seen, references used, the few Practitioners), so memory grows with the number of
 * distinct ids, not with the file. `resolve()` then checks references against the file and
 * the database, so the report lists every bad row before anything is written.
 */
export class ImportCheck {
  readonly counts = emptyCounts();
  private readonly found: Array<ImportProblem & { ordinal: number }> = [];
  problemsOmitted = 0;
  readonly rejected = new Set<number>();
  readonly providers: ProviderRecord[] = [];
  readonly providerTargets = new Map<string, ProviderTarget>();
  readonly warnings: ImportProblem[] = [];
  /** Appointment patient reference → the patient's external id. */
  readonly patientTargets = new Map<string, string>();
  appointmentsSeen = 0;

  private readonly patientKeys = new Map<string, { label: string; ordinal: number }>();
  private readonly appointmentKeys = new Map<string, { label: string; ordinal: number }>();
  private readonly providerKeys = new Map<string, { label: string; ordinal: number }>();
  private readonly patientAliases = new Map<string, string>();
  /** References to Patients of the file that were rejected, with where they are (their appointments say so). */
  private readonly rejectedPatientAliases = new Map<string, string>();
  /** Patients of the file still to be compared with the patients on file. */
  private pending: Array<{
    ordinal: number;
    label: string;
    externalId: string;
    system: string | null | undefined;
    firstName: string;
    lastName: string;
    dateOfBirth: string;
  }> = [];
  private readonly providerUses = new Map<string, RefUse & { ref: ProviderRef }>();
  private readonly patientUses = new Map<string, RefUse & { ref: { reference?: string; externalId?: string } }>();
  private lastOrdinal = -1;

  /** Every bad row with its reasons, in file order. */
  get problems(): ImportProblem[] {
    return [...this.found].sort((a, b) => a.ordinal - b.ordinal).map(({ ordinal: _ordinal, ...problem }) => problem);
  }

  add(item: ParsedItem | IgnoredItem): void {
    if (item.kind === 'ignored') {
      // Skipped entries cost only a counter (no row cap for them), so the kinds listed are bounded too.
      const reason =
        item.reason in this.counts.ignored || Object.keys(this.counts.ignored).length < MAX_IGNORED_KINDS
          ? item.reason
          : OTHER_IGNORED;
      this.counts.ignored[reason] = (this.counts.ignored[reason] ?? 0) + 1;
      return;
    }
    const { ordinal, label } = item.source;
    if (ordinal !== this.lastOrdinal) {
      this.counts.rows++;
      this.lastOrdinal = ordinal;
    }
    if (this.rejected.has(ordinal)) return;
    switch (item.kind) {
      case 'rejected':
        if (item.of === 'patient') for (const alias of item.aliases ?? []) this.rejectedPatientAliases.set(alias, label);
        return this.reject(ordinal, label, item.reasons.length ? item.reasons : [importProblem('unreadable')], item.externalId);
      case 'provider':
        // Two practitioners may share a name: the NPI tells them apart. Without one, the name must be unique in the file.
        if (
          item.externalId &&
          this.duplicate(
            this.providerKeys,
            `id:${foldKey(item.externalId)}`,
            ordinal,
            label,
            importProblem('duplicateNpi', { id: item.externalId }),
          )
        )
          return;
        if (
          !item.externalId &&
          this.duplicate(
            this.providerKeys,
            `name:${foldKey(item.name)}`,
            ordinal,
            label,
            importProblem('duplicatePractitionerName', { name: item.name }),
          )
        )
          return;
        this.providers.push(item);
        return;
      case 'patient':
        if (
          this.duplicate(
            this.patientKeys,
            foldKey(item.externalId),
            ordinal,
            label,
            importProblem('duplicateExternalId', { id: item.externalId }),
          )
        ) {
          for (const alias of item.aliases) this.rejectedPatientAliases.set(alias, label);
          return;
        }
        for (const alias of item.aliases) this.patientAliases.set(alias, item.externalId);
        this.pending.push({
          ordinal,
          label,
          externalId: item.externalId,
          system: item.externalIdSystem,
          firstName: item.firstName,
          lastName: item.lastName,
          dateOfBirth: item.dateOfBirth,
        });
        if (item.provider) this.use(this.providerUses, providerRefKey(item.provider), item.provider, ordinal, label);
        return;
      case 'appointment':
        this.appointmentsSeen++;
        if (
          this.duplicate(
            this.appointmentKeys,
            foldKey(item.externalId),
            ordinal,
            label,
            importProblem('duplicateAppointmentId', { id: item.externalId }),
          )
        )
          return;
        this.use(this.patientUses, patientRefKey(item.patient), item.patient, ordinal, label);
        if (item.provider) this.use(this.providerUses, providerRefKey(item.provider), item.provider, ordinal, label);
        return;
    }
  }

  /** Patients read but not yet compared with the database; the caller flushes them every so often. */
  get pendingComparisons(): number {
    return this.pending.length;
  }

  /**
   * Compares the file's patients with the patients on file of the same external id. A
   * record from another identifier system, or one that changes both the name and the date
   * of birth, is held as a problem (not applied): it looks like a different person.
   */
  async compareWithDatabase(onFile: PatientsOnFile): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    for (let from = 0; from < batch.length; from += COMPARE_BATCH) {
      const part = batch.slice(from, from + COMPARE_BATCH).filter((record) => !this.rejected.has(record.ordinal));
      if (part.length === 0) continue;
      const byKey = new Map(
        (await onFile.byExternalIds(part.map((record) => record.externalId))).map((patient) => [
          foldKey(patient.externalId),
          patient,
        ]),
      );
      for (const record of part) {
        const patient = byKey.get(foldKey(record.externalId));
        if (!patient || this.rejected.has(record.ordinal)) continue;
        if (patient.externalIdSystem && record.system && patient.externalIdSystem !== record.system) {
          this.reject(
            record.ordinal,
            record.label,
            [
              importProblem('otherIdentifierSystem', {
                onFile: patient.externalIdSystem.slice(0, 100),
                record: record.system.slice(0, 100),
              }),
            ],
            record.externalId,
          );
          continue;
        }
        const renamed =
          foldKey(patient.firstName) !== foldKey(record.firstName) || foldKey(patient.lastName) !== foldKey(record.lastName);
        if (renamed && patient.dateOfBirth !== record.dateOfBirth) {
          this.reject(record.ordinal, record.label, [importProblem('differentPerson')], record.externalId);
        }
      }
    }
  }

  /** Checks every reference (providers, appointment patients) against the file and the database. */
  async resolve(db: PatientsOnFile): Promise<void> {
    await this.compareWithDatabase(db);
    const dbProviders = await db.providers();
    const dbByExt = new Map(dbProviders.filter((p) => p.externalId).map((p) => [foldKey(p.externalId!), p.id]));
    const dbByFhir = new Map(dbProviders.filter((p) => p.fhirId).map((p) => [p.fhirId!, p.id]));
    const dbByName = groupBy(
      dbProviders,
      (p) => foldKey(p.name),
      (p) => p.id,
    );
    const file = this.providers.filter((p) => !this.rejected.has(p.source.ordinal));
    const fileByAlias = new Map(file.flatMap((p) => p.aliases.map((alias) => [alias, p.source.ordinal] as const)));
    const fileByExt = new Map(file.filter((p) => p.externalId).map((p) => [foldKey(p.externalId!), p.source.ordinal]));
    const fileByName = groupBy(
      file,
      (p) => foldKey(p.name),
      (p) => p.source.ordinal,
    );
    const only = (ids: number[] | undefined) => (ids && ids.length === 1 ? ids[0] : undefined);

    for (const [key, use] of this.providerUses) {
      const { ref } = use;
      const fileHit =
        (ref.reference ? fileByAlias.get(ref.reference) : undefined) ??
        (ref.externalId ? fileByExt.get(foldKey(ref.externalId)) : undefined) ??
        (ref.name ? only(fileByName.get(foldKey(ref.name))) : undefined);
      const dbHit =
        fileHit === undefined
          ? ((ref.reference ? dbByFhir.get(ref.reference) : undefined) ??
            (ref.externalId ? dbByExt.get(foldKey(ref.externalId)) : undefined) ??
            (ref.name ? only(dbByName.get(foldKey(ref.name))) : undefined))
          : undefined;
      if (fileHit !== undefined) this.providerTargets.set(key, { file: fileHit });
      else if (dbHit !== undefined) this.providerTargets.set(key, { db: dbHit });
      else {
        const shared = ref.name
          ? Math.max(fileByName.get(foldKey(ref.name))?.length ?? 0, dbByName.get(foldKey(ref.name))?.length ?? 0)
          : 0;
        const what =
          shared > 1
            ? importProblem('providerNameShared', { name: ref.name!, providers: shared })
            : importProblem('unknownProvider', { provider: ref.name ?? ref.externalId ?? ref.reference ?? '' });
        // A FHIR reference that resolves to nothing: the patient comes in without a provider (a warning).
        if (ref.soft) this.warnUses(use, importProblem('withoutProvider', { problem: what }));
        else this.rejectUses(use, what);
      }
    }

    const lookInDb: Array<[string, string]> = [];
    for (const [key, use] of this.patientUses) {
      const fromAlias = use.ref.reference ? this.patientAliases.get(use.ref.reference) : undefined;
      const externalId = fromAlias ?? use.ref.externalId;
      const inFile = externalId ? this.patientKeys.get(foldKey(externalId)) : undefined;
      if (externalId && inFile) {
        if (this.rejected.has(inFile.ordinal)) this.rejectUses(use, importProblem('patientRejected', { where: inFile.label }));
        else this.patientTargets.set(key, externalId);
      } else if (use.ref.reference && this.rejectedPatientAliases.has(use.ref.reference))
        this.rejectUses(use, importProblem('patientRejected', { where: this.rejectedPatientAliases.get(use.ref.reference)! }));
      else if (externalId && !fromAlias) lookInDb.push([key, externalId]);
      else this.rejectUses(use, importProblem('notInFile', { patient: use.ref.reference ?? '' }));
    }
    for (const chunk of chunks(lookInDb)) {
      const found = new Set((await db.existingExternalIds(chunk.map(([, id]) => id))).map(foldKey));
      for (const [key, externalId] of chunk) {
        if (found.has(foldKey(externalId))) this.patientTargets.set(key, externalId);
        else this.rejectUses(this.patientUses.get(key)!, importProblem('unknownPatient', { patient: externalId }));
      }
    }
    this.providerUses.clear();
    this.patientUses.clear();
    this.patientKeys.clear();
    this.appointmentKeys.clear();
    this.rejectedPatientAliases.clear();
  }

  private duplicate(
    keys: Map<string, { label: string; ordinal: number }>,
    key: string,
    ordinal: number,
    label: string,
    reason: string,
  ): boolean {
    const first = keys.get(key);
    if (!first) {
      keys.set(key, { label, ordinal });
      return false;
    }
    this.reject(first.ordinal, first.label, [importProblem('alsoOn', { problem: reason, where: label })]);
    this.reject(ordinal, label, [importProblem('firstOn', { problem: reason, where: first.label })]);
    return true;
  }

  private use<R>(uses: Map<string, RefUse & { ref: R }>, key: string, ref: R, ordinal: number, label: string): void {
    const use = uses.get(key) ?? { ref, ordinals: [], labels: [] };
    use.ordinals.push(ordinal);
    use.labels.push(label);
    uses.set(key, use);
  }

  private rejectUses(use: RefUse, reason: string): void {
    use.ordinals.forEach((ordinal, i) => this.reject(ordinal, use.labels[i], [reason]));
  }

  private warnUses(use: RefUse, reason: string): void {
    use.labels.forEach((label) => {
      this.counts.warnings++;
      if (this.warnings.length < MAX_PROBLEMS_KEPT) this.warnings.push({ where: label, reason });
    });
  }

  private reject(ordinal: number, label: string, reasons: string[], externalId?: string): void {
    if (!this.rejected.has(ordinal)) this.counts.rejected++;
    this.rejected.add(ordinal);
    for (const reason of reasons) {
      if (this.found.length < MAX_PROBLEMS_KEPT) this.found.push({ where: label, externalId, reason, ordinal });
      else this.problemsOmitted++;
    }
  }
}

function groupBy<T, V>(items: T[], key: (item: T) => string, value: (item: T) => V): Map<string, V[]> {
  const groups = new Map<string, V[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), value(item)]);
  return groups;
}
