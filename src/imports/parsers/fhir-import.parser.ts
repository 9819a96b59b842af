/// <reference types="fhir" />
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { FieldChecker, importProblem, recordAt, type ParsedItem, type ProviderRef, type RecordSource } from '../import-records';
import type { PostalAddress } from '../../patients/postal-address';
import { ImportFileError } from './import-file-error';
import { message } from '../../i18n/messages';

/*
 * FHIR R4 Patient, Practitioner and Appointment resources. The types come from
 * @types/fhir (named for STU3); every element read here (identifier, name, birthDate,
 * telecom, generalPractitioner, participant.actor, start, status) has the same shape in R4.
 */
type Resource = { resourceType?: string; id?: string; text?: { div?: unknown } };
/** R4 additions to the STU3 shapes: Reference.type, Identifier.use "old", ContactPoint.rank, Patient.deceased[x]. */
type R4Reference = fhir.Reference & { type?: string };
type R4Patient = fhir.Patient & { deceasedBoolean?: boolean; deceasedDateTime?: string };
type R4ContactPoint = fhir.ContactPoint & { rank?: number };

/** An item that is not imported (another resource type, a cancelled appointment), counted by reason (a message key). */
export interface IgnoredItem {
  kind: 'ignored';
  reason: string;
}

/** How the file's identifiers are read (IMPORT_MRN_SYSTEM). */
export interface FhirReadOptions {
  /** When set, only an identifier of this system is a patient's external id. */
  mrnSystem?: string | null;
}

/**
 * Largest imported resource (Patient, Practitioner, Appointment) once its narrative
 * (`text.div`, which is never read) is left out. Other resource types are counted as not
 * imported whatever their size, so a big DocumentReference does not fail a Bundle.
 */
const MAX_RESOURCE_CHARS = 4 * 1024 * 1024;
const IMPORTED_TYPES = new Set(['Patient', 'Practitioner', 'Appointment']);
const IGNORED_APPOINTMENT_STATUSES = new Set(['cancelled', 'entered-in-error', 'noshow']);
/** Appointments not yet scheduled: without a start they are counted and skipped like cancelled ones. */
const UNSCHEDULED_APPOINTMENT_STATUSES = new Set(['proposed', 'waitlist', 'pending']);
export const REQUEST_ENTRY_REASON = importProblem('requestEntries');
const tooLarge = (type: string) => importProblem('resourceTooLarge', { type });
const notImported = (type: string) =>
  type.slice(0, 40) ? importProblem('typeNotImported', { type: type.slice(0, 40) }) : importProblem('unknownTypeNotImported');

/** NDJSON (FHIR bulk export): one resource per line, read line by line. */
export async function* parseNdjson(input: Readable, options: FhirReadOptions = {}): AsyncGenerator<ParsedItem | IgnoredItem> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let lineNumber = 0;
  let ordinal = 0;
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === '') continue;
    const source: RecordSource = { label: recordAt.line(lineNumber), ordinal: ordinal++ };
    if (line.length > MAX_RESOURCE_CHARS) {
      // The type is named near the start; a resource that is not imported is not parsed at all.
      const type = /"resourceType"\s*:\s*"([A-Za-z]{1,40})"/.exec(line.slice(0, 64 * 1024))?.[1] ?? '';
      if (!IMPORTED_TYPES.has(type)) {
        yield { kind: 'ignored', reason: notImported(type) };
        continue;
      }
    }
    let resource: unknown;
    try {
      resource = JSON.parse(line);
    } catch {
      yield { kind: 'rejected', source, reasons: [importProblem('notJson')] };
      continue;
    }
    if (line.length > MAX_RESOURCE_CHARS && withoutNarrativeLength(resource) > MAX_RESOURCE_CHARS) {
      yield { kind: 'rejected', source, reasons: [tooLarge((resource as Resource).resourceType ?? 'resource')] };
      continue;
    }
    yield* resourceItems(resource, source, null, options);
  }
}

function withoutNarrativeLength(resource: unknown): number {
  const typed = resource as Resource;
  if (typed?.text && typeof typed.text === 'object') typed.text = { ...typed.text, div: '' };
  return JSON.stringify(resource).length;
}

/**
 * A Bundle read entry by entry: a small scanner tracks nesting and strings, and only the
 * text of the entry being read is held (then JSON.parse'd), never the whole file. A file
 * that is one resource (pretty-printed or not) instead of a Bundle is read as that resource.
 */
export async function* parseBundle(
  input: AsyncIterable<string | Buffer>,
  options: FhirReadOptions = {},
): AsyncGenerator<ParsedItem | IgnoredItem> {
  const scanner = new BundleScanner();
  let ordinal = 0;
  for await (const chunk of input) {
    for (const entry of scanner.push(typeof chunk === 'string' ? chunk : chunk.toString('utf8'))) {
      const source: RecordSource = { label: recordAt.entry(ordinal + 1), ordinal: ordinal++ };
      if (typeof entry !== 'string') {
        yield IMPORTED_TYPES.has(entry.oversized)
          ? { kind: 'rejected', source, reasons: [tooLarge(entry.oversized)] }
          : { kind: 'ignored', reason: notImported(entry.oversized) };
        continue;
      }
      let parsed: { fullUrl?: string; resource?: unknown; request?: unknown };
      try {
        parsed = JSON.parse(entry);
      } catch {
        throw new ImportFileError(message('staff:imports.fileProblem.bundleEntryNotJson', { where: source.label }));
      }
      // A transaction's DELETE/GET entries carry a request and no resource: counted, never silently dropped.
      if (parsed?.resource === undefined && parsed?.request && typeof parsed.request === 'object') {
        yield { kind: 'ignored', reason: REQUEST_ENTRY_REASON };
        continue;
      }
      yield* resourceItems(parsed?.resource, source, typeof parsed?.fullUrl === 'string' ? parsed.fullUrl : null, options);
    }
  }
  const single = scanner.end();
  if (single !== null) {
    let resource: unknown;
    try {
      resource = JSON.parse(single);
    } catch {
      throw new ImportFileError(message('staff:imports.fileProblem.notJson'));
    }
    yield* resourceItems(resource, { label: recordAt.resource, ordinal: 0 }, null, options);
  }
}

/** A complete entry's text, or the type of an entry too large to hold (left out unread). */
type ScannedEntry = string | { oversized: string };

class BundleScanner {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private topString = '';
  private lastTopString = '';
  private key = '';
  private afterColon = false;
  private inEntries = false;
  private collecting = false;
  private buffer = '';
  /** Inside an entry: the last string read (a key, when a ':' follows) and whether the open string is a narrative. */
  private entryString = '';
  private entryKey = '';
  private skippingString = false;
  /** An oversized entry is read to its end without keeping it. */
  private discarding = false;
  /** The whole text while it may still be a single resource (not a Bundle), up to the size cap. */
  private whole: string | null = '';
  resourceType = '';

  /** Feeds one chunk; returns the complete entries' JSON texts. */
  push(chunk: string): ScannedEntry[] {
    if (this.whole !== null) {
      this.whole =
        this.whole.length + chunk.length <= MAX_RESOURCE_CHARS && this.resourceType !== 'Bundle' ? this.whole + chunk : null;
    }
    const entries: ScannedEntry[] = [];
    let from = this.collecting && !this.skippingString && !this.discarding ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') {
          this.inString = false;
          if (this.depth === 1) this.topStringEnded();
          if (this.skippingString) {
            // The narrative's text is left out: the entry keeps `"div": ""`.
            this.skippingString = false;
            from = i;
          }
          continue;
        }
        if (this.depth === 1 && this.topString.length < 100) this.topString += c;
        else if (this.collecting && this.entryString.length < 100) this.entryString += c;
        continue;
      }
      if (c === '"') {
        this.inString = true;
        this.topString = '';
        if (this.collecting) {
          if (this.entryKey === 'div' && this.afterEntryColon && !this.discarding) {
            this.buffer += chunk.slice(from, i + 1);
            this.skippingString = true;
          }
          this.entryString = '';
        }
      } else if (c === '{' || c === '[') {
        if (this.depth === 0 && c === '[') throw new ImportFileError(message('staff:imports.fileProblem.jsonList'));
        if (this.depth === 2 && this.inEntries && c === '{') {
          this.collecting = true;
          this.discarding = false;
          this.buffer = '';
          from = i;
        }
        this.depth++;
        this.afterEntryColon = false;
        if (this.depth === 2 && c === '[' && this.key === 'entry') this.inEntries = true;
      } else if (c === '}' || c === ']') {
        this.depth--;
        this.afterEntryColon = false;
        if (this.depth < 0) throw new ImportFileError(message('staff:imports.fileProblem.jsonBrackets'));
        if (this.collecting && this.depth === 2) {
          if (this.discarding) entries.push({ oversized: this.oversizedType });
          else entries.push(this.buffer + chunk.slice(from, i + 1));
          this.collecting = false;
          this.discarding = false;
          this.buffer = '';
          from = -1;
        }
        if (this.depth === 1 && c === ']') this.inEntries = false;
      } else if (this.depth === 1 && c === ':') {
        this.key = this.lastTopString;
        this.afterColon = true;
      } else if (this.depth === 1 && c === ',') {
        this.afterColon = false;
      } else if (this.collecting && c === ':') {
        this.entryKey = this.entryString;
        this.afterEntryColon = true;
      } else if (this.collecting && c === ',') {
        this.afterEntryColon = false;
      }
    }
    if (this.collecting && !this.discarding && !this.skippingString) this.buffer += chunk.slice(from);
    if (this.collecting && !this.discarding && this.buffer.length > MAX_RESOURCE_CHARS) {
      this.oversizedType = /"resourceType"\s*:\s*"([A-Za-z]{1,40})"/.exec(this.buffer)?.[1] ?? '';
      this.discarding = true;
      this.buffer = '';
    }
    return entries;
  }

  private afterEntryColon = false;
  private oversizedType = '';

  /** Checks the file was a complete Bundle; returns the text of a file that is one resource instead (else null). */
  end(): string | null {
    if (this.depth !== 0 || this.inString) throw new ImportFileError(message('staff:imports.fileProblem.jsonIncomplete'));
    if (this.resourceType === 'Bundle') return null;
    if (this.resourceType && IMPORTED_TYPES.has(this.resourceType) && this.whole !== null) return this.whole;
    if (this.resourceType && IMPORTED_TYPES.has(this.resourceType))
      throw new ImportFileError(message('staff:imports.fileProblem.resourceTooLarge', { type: this.resourceType }));
    throw new ImportFileError(
      this.resourceType
        ? message('staff:imports.fileProblem.otherResource', { type: this.resourceType.slice(0, 40) })
        : message('staff:imports.fileProblem.notBundle'),
    );
  }

  private topStringEnded(): void {
    if (this.afterColon && this.key === 'resourceType') this.resourceType = this.topString;
    else if (!this.afterColon) this.lastTopString = this.topString;
  }
}

/** The records of one resource; other resource types are counted and ignored. */
export function resourceItems(
  resource: unknown,
  source: RecordSource,
  fullUrl: string | null,
  options: FhirReadOptions = {},
): Array<ParsedItem | IgnoredItem> {
  if (!resource || typeof resource !== 'object' || Array.isArray(resource))
    return [{ kind: 'rejected', source, reasons: [importProblem('noResource')] }];
  const typed = resource as Resource;
  const aliases = [typed.id ? `${typed.resourceType}/${typed.id}` : null, fullUrl].filter((alias): alias is string =>
    Boolean(alias),
  );
  switch (typed.resourceType) {
    case 'Patient':
      return [patientItem(resource as R4Patient, source, aliases, options)];
    case 'Practitioner':
      return [practitionerItem(resource as fhir.Practitioner, source, aliases)];
    case 'Appointment':
      return [appointmentItem(resource as fhir.Appointment, source)];
    default:
      return [{ kind: 'ignored', reason: notImported(String(typed.resourceType ?? '')) }];
  }
}

/** Patient.communication with preferred: true: its language's BCP 47 code (urn:ietf:bcp:47), else left as on file. */
function preferredLanguageOf(patient: R4Patient, check: FieldChecker): string | null | undefined {
  const preferred = (patient.communication ?? []).find((communication) => communication.preferred === true);
  if (!preferred) return undefined;
  const codings = preferred.language?.coding ?? [];
  const coding = codings.find((c) => c.system === 'urn:ietf:bcp:47') ?? codings[0];
  return check.language(coding?.code ?? '') ?? undefined;
}

function patientItem(patient: R4Patient, source: RecordSource, aliases: string[], options: FhirReadOptions): ParsedItem {
  const check = new FieldChecker();
  const mrn = medicalRecordNumber(patient.identifier, options.mrnSystem ?? null);
  if ('missing' in mrn) check.fail(mrn.missing);
  const externalId = 'missing' in mrn ? undefined : check.externalId(mrn.identifier.value, 'mrn');
  const name = pickName(patient.name);
  const { given, family } = nameParts(name);
  const firstName = check.text(given, 'givenName', 100, true);
  const lastName = check.text(family, 'familyName', 100, true);
  const dateOfBirth = check.birthDate(patient.birthDate);
  const telecom = byRank((patient.telecom ?? []) as R4ContactPoint[]).filter(
    (contact) => contact.use !== 'old' && !contact.period?.end,
  );
  const email = check.email(telecom.find((contact) => contact.system === 'email')?.value);
  const phone = check.text(telecom.find((contact) => contact.system === 'phone')?.value, 'phone', 32) ?? null;
  const preferredLanguage = preferredLanguageOf(patient, check);
  const address = postalAddressOf(patient.address, check);
  const gp = (patient.generalPractitioner ?? []).find((ref) => !ref.reference || !ref.reference.startsWith('Organization/'));
  const provider = gp ? referenceOf(gp) : null;
  const deceased = deceasedOf(patient, check);
  if (check.reasons.length || !externalId || !firstName || !lastName || !dateOfBirth || email === undefined)
    return { kind: 'rejected', source, reasons: check.reasons, externalId, aliases, of: 'patient' };
  const externalIdSystem = 'identifier' in mrn ? (mrn.identifier.system?.trim().slice(0, 255) ?? null) : null;
  return {
    kind: 'patient',
    source,
    externalId,
    externalIdSystem,
    firstName,
    lastName,
    dateOfBirth,
    email,
    phone,
    preferredLanguage,
    ...(address ? { address } : {}),
    provider,
    aliases,
    ...deceased,
  };
}

/** deceasedBoolean / deceasedDateTime; absent leaves the flag as it is on file. */
function deceasedOf(patient: R4Patient, check: FieldChecker): { deceased?: boolean; deceasedDate?: string | null } {
  if (patient.deceasedDateTime !== undefined) {
    const date = check.deceasedDate(patient.deceasedDateTime, 'deceasedDateTime');
    return { deceased: true, deceasedDate: date ?? null };
  }
  if (patient.deceasedBoolean === true) return { deceased: true, deceasedDate: null };
  if (patient.deceasedBoolean === false) return { deceased: false, deceasedDate: null };
  return {};
}

function practitionerItem(practitioner: fhir.Practitioner, source: RecordSource, aliases: string[]): ParsedItem {
  const check = new FieldChecker();
  const externalId = check.externalId(providerIdentifier(practitioner.identifier)?.value, 'npi', false) ?? null;
  const name = pickName(practitioner.name);
  const full =
    name?.text?.trim() || [...(name?.prefix ?? []), ...(name?.given ?? []), name?.family ?? ''].filter(Boolean).join(' ');
  const providerName = check.text(full, 'practitionerName', 100, true);
  if (check.reasons.length || !providerName)
    return { kind: 'rejected', source, reasons: check.reasons, externalId: externalId ?? undefined, of: 'provider' };
  const fhirId = aliases.find((alias) => alias.startsWith('Practitioner/'))?.slice(0, 100) ?? null;
  return { kind: 'provider', source, externalId, name: providerName, aliases, fhirId };
}

function appointmentItem(appointment: fhir.Appointment, source: RecordSource): ParsedItem | IgnoredItem {
  const status = appointment.status as string | undefined;
  if (status && IGNORED_APPOINTMENT_STATUSES.has(status))
    return { kind: 'ignored', reason: importProblem('appointmentsNotImported', { status }) };
  if (status && UNSCHEDULED_APPOINTMENT_STATUSES.has(status) && !appointment.start)
    return { kind: 'ignored', reason: importProblem('unscheduledNotImported', { status }) };
  const check = new FieldChecker();
  const externalId = check.externalId(
    otherIdentifier(appointment.identifier)?.value ?? (appointment.id ? `Appointment/${appointment.id}` : undefined),
    'identifier',
  );
  const startsAt = appointment.start === undefined ? check.missing('start') : check.dateTime(appointment.start, 'start');
  const actors = (appointment.participant ?? [])
    .map((participant) => participant.actor)
    .filter((actor): actor is R4Reference => Boolean(actor));
  const patientActor =
    actors.find((actor) => actor.reference?.startsWith('Patient/') || actor.type === 'Patient') ??
    actors.find((actor) => actor.reference?.startsWith('urn:'));
  const providerActor =
    actors.find((actor) => actor.reference?.startsWith('Practitioner/') || actor.type === 'Practitioner') ??
    actors.find((actor) => actor !== patientActor && actor.reference?.startsWith('urn:'));
  if (!patientActor) check.fail(importProblem('noPatientParticipant'));
  if (check.reasons.length || !externalId || !startsAt || !patientActor)
    return { kind: 'rejected', source, reasons: check.reasons, externalId, of: 'appointment' };
  return {
    kind: 'appointment',
    source,
    externalId,
    patient: { reference: patientActor.reference, externalId: patientActor.identifier?.value },
    provider: providerActor ? referenceOf(providerActor) : null,
    startsAt,
  };
}

/** v2-0203 codes of identifiers that belong to the person, not the clinic: SSN, social beneficiary, national ids, driver's licence, passport, tax, citizenship, pension. */
const PERSONAL_CODES = new Set(['SS', 'SB', 'NI', 'NN', 'NH', 'NIIP', 'DL', 'PPN', 'TAX', 'CZ', 'PEN', 'BCT', 'SSN']);
const PERSONAL_TEXT = /\b(ssn|social\s*security|national|bsn|passport|driver|licen[cs]e|tax)\b/i;
/** Systems of personal identifiers (US SSN, Dutch BSN, US SSN OID, driver's licences, passports). */
const PERSONAL_SYSTEM =
  /(us-ssn|\/ssn\b|bsn|passport|driver|2\.16\.840\.1\.113883\.4\.1$|2\.16\.840\.1\.113883\.4\.3\.|2\.16\.528\.1\.1007\.3\.3$|2\.16\.840\.1\.113883\.4\.330\.)/i;
const NPI_SYSTEMS = new Set(['http://hl7.org/fhir/sid/us-npi', 'urn:oid:2.16.840.1.113883.4.6']);
/** Medical record numbers: v2-0203 MR, or (Epic) only a type.text of MR, MRN or EPI. */
const MRN_TEXT = new Set(['MR', 'MRN', 'EPI']);

const codesOf = (identifier: fhir.Identifier) =>
  (identifier.type?.coding ?? []).map((coding) => String(coding.code ?? '').toUpperCase());

/** Social Security, national id, driver's licence and passport numbers are never an external id, and their values are never echoed. */
export function isPersonalIdentifier(identifier: fhir.Identifier): boolean {
  if (codesOf(identifier).some((code) => PERSONAL_CODES.has(code) || /^NN[A-Z]{3}$/.test(code))) return true;
  if (identifier.type?.text && PERSONAL_TEXT.test(identifier.type.text)) return true;
  if (identifier.system && PERSONAL_SYSTEM.test(identifier.system)) return true;
  // An untyped value written like a US Social Security number (123-45-6789) is treated as one.
  return !isMrn(identifier) && /^\d{3}-\d{2}-\d{4}$/.test(String(identifier.value ?? '').trim());
}

const isMrn = (identifier: fhir.Identifier) =>
  codesOf(identifier).includes('MR') ||
  MRN_TEXT.has(
    String(identifier.type?.text ?? '')
      .trim()
      .toUpperCase(),
  );
const usable = (identifiers: fhir.Identifier[] | undefined) =>
  (identifiers ?? []).filter(
    (identifier) => identifier.value && (identifier.use as string | undefined) !== 'old' && !isPersonalIdentifier(identifier),
  );

/**
 * The patient's external id: with IMPORT_MRN_SYSTEM, only that system's identifier;
 * else the MR/MRN/EPI-typed one, else the official one, else the first other one. A
 * reason never includes an identifier's value.
 */
export function medicalRecordNumber(
  identifiers: fhir.Identifier[] | undefined,
  mrnSystem: string | null,
): { identifier: fhir.Identifier } | { missing: string } {
  const list = usable(identifiers);
  if (mrnSystem) {
    const found = list.find((identifier) => identifier.system === mrnSystem);
    return found ? { identifier: found } : { missing: importProblem('noMrnOfSystem', { system: mrnSystem.slice(0, 100) }) };
  }
  const found = list.find(isMrn) ?? list.find((identifier) => identifier.use === 'official') ?? list[0];
  return found ? { identifier: found } : { missing: importProblem('noMrn') };
}

/** A Practitioner's external id: the NPI, else another identifier that is not personal. */
function providerIdentifier(identifiers: fhir.Identifier[] | undefined): fhir.Identifier | undefined {
  const list = usable(identifiers);
  return (
    list.find((identifier) => identifier.system && NPI_SYSTEMS.has(identifier.system)) ??
    list.find((identifier) => identifier.use === 'official') ??
    list[0]
  );
}

function otherIdentifier(identifiers: fhir.Identifier[] | undefined): fhir.Identifier | undefined {
  const list = usable(identifiers);
  return list.find((identifier) => identifier.use === 'official') ?? list[0];
}

function pickName(names: fhir.HumanName[] | undefined): fhir.HumanName | undefined {
  const current = (names ?? []).filter((name) => name.use !== 'old' && !name.period?.end);
  return current.find((name) => name.use === 'official') ?? current.find((name) => name.use === 'usual') ?? current[0];
}

/** given/family, or a name given only as `text`: the last word is the family name, the rest the given names. */
export function nameParts(name: fhir.HumanName | undefined): { given?: string; family?: string } {
  const given = name?.given?.filter(Boolean).join(' ') || undefined;
  const family = name?.family?.trim() || undefined;
  if ((given && family) || !name?.text?.trim()) return { given, family };
  const words = name.text.trim().split(/\s+/);
  if (words.length < 2) return { given, family: family ?? words[0] };
  return { given: given ?? words.slice(0, -1).join(' '), family: family ?? words[words.length - 1] };
}

/** ContactPoint.rank: 1 is preferred; unranked ones come after every ranked one, in file order. */
const ADDRESS_USE_ORDER = ['home', undefined, 'temp', 'work', 'billing'];

/**
 * Patient.address: the current `home` address first, then one without a use, then temp, work,
 * billing; old or ended ones and physical-only (visiting) ones are skipped. None: undefined (left as on file).
 */
function postalAddressOf(addresses: fhir.Address[] | undefined, check: FieldChecker): PostalAddress | undefined {
  const usable = (addresses ?? []).filter(
    (address) => address.use !== 'old' && !address.period?.end && address.type !== 'physical',
  );
  const rank = (address: fhir.Address) => {
    const at = ADDRESS_USE_ORDER.indexOf(address.use);
    return at < 0 ? ADDRESS_USE_ORDER.length : at;
  };
  const chosen = usable
    .map((address, index) => ({ address, index }))
    .sort((a, b) => rank(a.address) - rank(b.address) || a.index - b.index)[0]?.address;
  if (!chosen) return undefined;
  const lines = (chosen.line ?? []).filter((line) => typeof line === 'string' && line.trim());
  return check.postalAddress({
    addressLine1: lines[0],
    // A third line and beyond join the second: the letter has two street lines.
    addressLine2: lines.slice(1).join(', ') || undefined,
    addressCity: chosen.city,
    addressRegion: chosen.state,
    addressPostalCode: chosen.postalCode,
    addressCountry: chosen.country,
  });
}

function byRank(contacts: R4ContactPoint[]): R4ContactPoint[] {
  const rank = (contact: R4ContactPoint) =>
    typeof contact.rank === 'number' && contact.rank > 0 ? contact.rank : Number.POSITIVE_INFINITY;
  return contacts
    .map((contact, index) => ({ contact, index }))
    .sort((a, b) => rank(a.contact) - rank(b.contact) || a.index - b.index)
    .map(({ contact }) => contact);
}

function referenceOf(reference: fhir.Reference): ProviderRef {
  return {
    reference: reference.reference,
    externalId: reference.identifier?.value,
    name: reference.display?.trim() || undefined,
    soft: true,
  };
}
