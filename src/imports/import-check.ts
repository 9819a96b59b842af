import type { EntityManager } from 'typeorm';
import { chunks, placeholders } from '../database/sql';
import { foldKey, type ImportProblem, type ParsedItem, type ProviderRecord, type ProviderRef } from './import-records';
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
  /** Not imported on purpose (other FHIR resource types, cancelled appointments), by reason. */
  ignored: Record<string, number>;
}

export const MAX_PROBLEMS_KEPT = 20_000;

const tally = (): Tally => ({ new: 0, changed: 0, unchanged: 0 });
export const emptyCounts = (): ImportCounts => ({ rows: 0, rejected: 0, patients: tally(), providers: tally(), appointments: tally(), emailChanges: 0, ignored: {} });

interface RefUse {
  ordinals: number[];
  labels: string[];
}

export const providerRefKey = (ref: ProviderRef) => JSON.stringify([ref.reference ?? '', ref.externalId ? foldKey(ref.externalId) : '', ref.name ? foldKey(ref.name) : '']);
export const patientRefKey = (ref: { reference?: string; externalId?: string }) => JSON.stringify([ref.reference ?? '', ref.externalId ? foldKey(ref.externalId) : '']);

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
  /** Appointment patient reference → the patient's external id. */
  readonly patientTargets = new Map<string, string>();
  appointmentsSeen = 0;

  private readonly patientKeys = new Map<string, { label: string; ordinal: number }>();
  private readonly appointmentKeys = new Map<string, { label: string; ordinal: number }>();
  private readonly providerKeys = new Map<string, { label: string; ordinal: number }>();
  private readonly patientAliases = new Map<string, string>();
  private readonly providerUses = new Map<string, RefUse & { ref: ProviderRef }>();
  private readonly patientUses = new Map<string, RefUse & { ref: { reference?: string; externalId?: string } }>();
  private lastOrdinal = -1;

  /** Every bad row with its reasons, in file order. */
  get problems(): ImportProblem[] {
    return [...this.found].sort((a, b) => a.ordinal - b.ordinal).map(({ ordinal: _ordinal, ...problem }) => problem);
  }

  add(item: ParsedItem | IgnoredItem): void {
    if (item.kind === 'ignored') {
      this.counts.ignored[item.reason] = (this.counts.ignored[item.reason] ?? 0) + 1;
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
        return this.reject(ordinal, label, item.reasons.length ? item.reasons : ['cannot be read'], item.externalId);
      case 'provider':
        if (item.externalId && this.duplicate(this.providerKeys, `id:${foldKey(item.externalId)}`, ordinal, label, `duplicate practitioner identifier ${item.externalId}`)) return;
        if (this.duplicate(this.providerKeys, `name:${foldKey(item.name)}`, ordinal, label, `duplicate practitioner name "${item.name}"`)) return;
        this.providers.push(item);
        return;
      case 'patient':
        if (this.duplicate(this.patientKeys, foldKey(item.externalId), ordinal, label, `duplicate external id ${item.externalId} in the file`)) return;
        for (const alias of item.aliases) this.patientAliases.set(alias, item.externalId);
        if (item.provider) this.use(this.providerUses, providerRefKey(item.provider), item.provider, ordinal, label);
        return;
      case 'appointment':
        this.appointmentsSeen++;
        if (this.duplicate(this.appointmentKeys, foldKey(item.externalId), ordinal, label, `duplicate appointment id ${item.externalId} in the file`)) return;
        this.use(this.patientUses, patientRefKey(item.patient), item.patient, ordinal, label);
        if (item.provider) this.use(this.providerUses, providerRefKey(item.provider), item.provider, ordinal, label);
        return;
    }
  }

  /** Checks every reference (providers, appointment patients) against the file and the database. */
  async resolve(db: EntityManager): Promise<void> {
    const dbProviders: Array<{ id: number | string; name: string; external_id: string | null }> = await db.query('SELECT id, name, external_id FROM providers');
    const dbByExt = new Map(dbProviders.filter((p) => p.external_id).map((p) => [foldKey(p.external_id!), Number(p.id)]));
    const dbByName = new Map(dbProviders.map((p) => [foldKey(p.name), Number(p.id)]));
    const file = this.providers.filter((p) => !this.rejected.has(p.source.ordinal));
    const fileByAlias = new Map(file.flatMap((p) => p.aliases.map((alias) => [alias, p.source.ordinal] as const)));
    const fileByExt = new Map(file.filter((p) => p.externalId).map((p) => [foldKey(p.externalId!), p.source.ordinal]));
    const fileByName = new Map(file.map((p) => [foldKey(p.name), p.source.ordinal]));

    for (const provider of file) {
      // providers.name is unique: a Practitioner may not take the name of another provider already on file.
      const sameName = dbByName.get(foldKey(provider.name));
      const sameId = provider.externalId ? dbByExt.get(foldKey(provider.externalId)) : undefined;
      if (sameName !== undefined && sameId !== undefined && sameName !== sameId) {
        this.reject(provider.source.ordinal, provider.source.label, [`practitioner name "${provider.name}" belongs to another provider already on file`], provider.externalId ?? undefined);
      }
    }

    for (const [key, use] of this.providerUses) {
      const { ref } = use;
      const alive = (ordinal: number | undefined) => (ordinal !== undefined && !this.rejected.has(ordinal) ? ordinal : undefined);
      const fileHit = alive(ref.reference ? fileByAlias.get(ref.reference) : undefined) ?? alive(ref.externalId ? fileByExt.get(foldKey(ref.externalId)) : undefined) ?? alive(ref.name ? fileByName.get(foldKey(ref.name)) : undefined);
      const dbHit = fileHit === undefined ? ((ref.externalId ? dbByExt.get(foldKey(ref.externalId)) : undefined) ?? (ref.name ? dbByName.get(foldKey(ref.name)) : undefined)) : undefined;
      if (fileHit !== undefined) this.providerTargets.set(key, { file: fileHit });
      else if (dbHit !== undefined) this.providerTargets.set(key, { db: dbHit });
      else this.rejectUses(use, `unknown provider "${ref.name ?? ref.externalId ?? ref.reference}"`);
    }

    const lookInDb: Array<[string, string]> = [];
    for (const [key, use] of this.patientUses) {
      const fromAlias = use.ref.reference ? this.patientAliases.get(use.ref.reference) : undefined;
      const externalId = fromAlias ?? use.ref.externalId;
      const inFile = externalId ? this.patientKeys.get(foldKey(externalId)) : undefined;
      if (externalId && inFile) {
        if (this.rejected.has(inFile.ordinal)) this.rejectUses(use, `its patient (${inFile.label}) was rejected`);
        else this.patientTargets.set(key, externalId);
      } else if (externalId && !fromAlias) lookInDb.push([key, externalId]);
      else this.rejectUses(use, `unknown patient ${use.ref.reference ?? ''} (not a Patient of this file)`.replace(' )', ')'));
    }
    for (const chunk of chunks(lookInDb)) {
      const rows: Array<{ external_id: string }> = await db.query(`SELECT external_id FROM patients WHERE external_id IN (${placeholders(chunk.length)})`, chunk.map(([, id]) => id));
      const found = new Set(rows.map((row) => foldKey(row.external_id)));
      for (const [key, externalId] of chunk) {
        if (found.has(foldKey(externalId))) this.patientTargets.set(key, externalId);
        else this.rejectUses(this.patientUses.get(key)!, `unknown patient ${externalId}`);
      }
    }
    this.providerUses.clear();
    this.patientUses.clear();
    this.patientKeys.clear();
    this.appointmentKeys.clear();
  }

  private duplicate(keys: Map<string, { label: string; ordinal: number }>, key: string, ordinal: number, label: string, reason: string): boolean {
    const first = keys.get(key);
    if (!first) {
      keys.set(key, { label, ordinal });
      return false;
    }
    this.reject(first.ordinal, first.label, [`${reason} (also on ${label})`]);
    this.reject(ordinal, label, [`${reason} (first on ${first.label})`]);
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

  private reject(ordinal: number, label: string, reasons: string[], externalId?: string): void {
    if (!this.rejected.has(ordinal)) this.counts.rejected++;
    this.rejected.add(ordinal);
    for (const reason of reasons) {
      if (this.found.length < MAX_PROBLEMS_KEPT) this.found.push({ where: label, externalId, reason, ordinal });
      else this.problemsOmitted++;
    }
  }
}
