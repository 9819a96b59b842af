/// <reference types="fhir" />
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { FieldChecker, type ParsedItem, type ProviderRef, type RecordSource } from '../import-records';
import { ImportFileError } from './import-file-error';

/*
 * FHIR R4 Patient, Practitioner and Appointment resources. The types come from
 * @types/fhir (named for STU3); every element read here (identifier, name, birthDate,
 * telecom, generalPractitioner, participant.actor, start, status) has the same shape in R4.
 */
type Resource = { resourceType?: string; id?: string };
/** R4 additions to the STU3 shapes: Reference.type, Identifier.use "old". */
type R4Reference = fhir.Reference & { type?: string };

/** An item that is not imported (another resource type, a cancelled appointment), counted by reason. */
export interface IgnoredItem {
  kind: 'ignored';
  reason: string;
}

/** Largest single Bundle entry or NDJSON line; a resource bigger than this is not a patient record. */
const MAX_RESOURCE_CHARS = 4 * 1024 * 1024;
const IGNORED_APPOINTMENT_STATUSES = new Set(['cancelled', 'entered-in-error', 'noshow']);

/** NDJSON (FHIR bulk export): one resource per line, read line by line. */
export async function* parseNdjson(input: Readable): AsyncGenerator<ParsedItem | IgnoredItem> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let lineNumber = 0;
  let ordinal = 0;
  for await (const line of lines) {
    lineNumber++;
    if (line.trim() === '') continue;
    const source: RecordSource = { label: `line ${lineNumber}`, ordinal: ordinal++ };
    if (line.length > MAX_RESOURCE_CHARS) {
      yield { kind: 'rejected', source, reasons: ['the line is longer than 4 MB'] };
      continue;
    }
    let resource: unknown;
    try {
      resource = JSON.parse(line);
    } catch {
      yield { kind: 'rejected', source, reasons: ['not valid JSON'] };
      continue;
    }
    yield* resourceItems(resource, source, null);
  }
}

/**
 * A Bundle read entry by entry: a small scanner tracks nesting and strings, and only the
 * text of the entry being read is held (then JSON.parse'd), never the whole file.
 */
export async function* parseBundle(input: AsyncIterable<string | Buffer>): AsyncGenerator<ParsedItem | IgnoredItem> {
  const scanner = new BundleScanner();
  let ordinal = 0;
  for await (const chunk of input) {
    for (const entry of scanner.push(typeof chunk === 'string' ? chunk : chunk.toString('utf8'))) {
      const source: RecordSource = { label: `entry ${ordinal + 1}`, ordinal: ordinal++ };
      let parsed: { fullUrl?: string; resource?: unknown };
      try {
        parsed = JSON.parse(entry);
      } catch {
        throw new ImportFileError(`The Bundle is not valid JSON (in ${source.label}).`);
      }
      yield* resourceItems(parsed?.resource, source, typeof parsed?.fullUrl === 'string' ? parsed.fullUrl : null);
    }
  }
  scanner.end();
}

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
  resourceType = '';

  /** Feeds one chunk; returns the complete entries' JSON texts. */
  push(chunk: string): string[] {
    const entries: string[] = [];
    let from = this.collecting ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') {
          this.inString = false;
          if (this.depth === 1) this.topStringEnded();
          continue;
        }
        if (this.depth === 1 && this.topString.length < 100) this.topString += c;
        continue;
      }
      if (c === '"') {
        this.inString = true;
        this.topString = '';
      } else if (c === '{' || c === '[') {
        if (this.depth === 0 && c === '[') throw new ImportFileError('The JSON file is a list, not a FHIR Bundle.');
        if (this.depth === 2 && this.inEntries && c === '{') {
          this.collecting = true;
          this.buffer = '';
          from = i;
        }
        this.depth++;
        if (this.depth === 2 && c === '[' && this.key === 'entry') this.inEntries = true;
      } else if (c === '}' || c === ']') {
        this.depth--;
        if (this.depth < 0) throw new ImportFileError('The JSON file has more closing brackets than opening ones.');
        if (this.collecting && this.depth === 2) {
          entries.push(this.buffer + chunk.slice(from, i + 1));
          this.collecting = false;
          this.buffer = '';
          from = -1;
        }
        if (this.depth === 1 && c === ']') this.inEntries = false;
      } else if (this.depth === 1 && c === ':') {
        this.key = this.lastTopString;
        this.afterColon = true;
      } else if (this.depth === 1 && c === ',') {
        this.afterColon = false;
      }
    }
    if (this.collecting) {
      this.buffer += chunk.slice(from);
      if (this.buffer.length > MAX_RESOURCE_CHARS) throw new ImportFileError('A Bundle entry is larger than 4 MB; that is not a patient record.');
    }
    return entries;
  }

  end(): void {
    if (this.depth !== 0 || this.inString) throw new ImportFileError('The JSON file ends before the Bundle is complete.');
    if (this.resourceType !== 'Bundle') {
      throw new ImportFileError(this.resourceType ? `The JSON file is a ${this.resourceType.slice(0, 40)} resource; upload a Bundle, or NDJSON with one resource per line.` : 'The JSON file is not a FHIR Bundle (no "resourceType": "Bundle").');
    }
  }

  private topStringEnded(): void {
    if (this.afterColon && this.key === 'resourceType') this.resourceType = this.topString;
    else if (!this.afterColon) this.lastTopString = this.topString;
  }
}

/** The records of one resource; other resource types are counted and ignored. */
export function resourceItems(resource: unknown, source: RecordSource, fullUrl: string | null): Array<ParsedItem | IgnoredItem> {
  if (!resource || typeof resource !== 'object' || Array.isArray(resource)) return [{ kind: 'rejected', source, reasons: ['no FHIR resource'] }];
  const typed = resource as Resource;
  const aliases = [typed.id ? `${typed.resourceType}/${typed.id}` : null, fullUrl].filter((alias): alias is string => Boolean(alias));
  switch (typed.resourceType) {
    case 'Patient':
      return [patientItem(resource as fhir.Patient, source, aliases)];
    case 'Practitioner':
      return [practitionerItem(resource as fhir.Practitioner, source, aliases)];
    case 'Appointment':
      return [appointmentItem(resource as fhir.Appointment, source)];
    default:
      return [{ kind: 'ignored', reason: `${String(typed.resourceType ?? 'unknown').slice(0, 40)} resources are not imported` }];
  }
}

function patientItem(patient: fhir.Patient, source: RecordSource, aliases: string[]): ParsedItem {
  const check = new FieldChecker();
  const externalId = check.externalId(identifierValue(patient.identifier, 'MR'), 'identifier (MRN)');
  const name = pickName(patient.name);
  const firstName = check.text(name?.given?.join(' '), 'given name', 100, true);
  const lastName = check.text(name?.family, 'family name', 100, true);
  const dateOfBirth = check.birthDate(patient.birthDate);
  const telecom = (patient.telecom ?? []).filter((contact) => contact.use !== 'old' && !contact.period?.end);
  const email = check.email(telecom.find((contact) => contact.system === 'email')?.value);
  const phone = check.text(telecom.find((contact) => contact.system === 'phone')?.value, 'phone', 32) ?? null;
  const gp = (patient.generalPractitioner ?? []).find((ref) => !ref.reference || !ref.reference.startsWith('Organization/'));
  const provider = gp ? referenceOf(gp) : null;
  if (check.reasons.length || !externalId || !firstName || !lastName || !dateOfBirth || email === undefined) return { kind: 'rejected', source, reasons: check.reasons, externalId };
  return { kind: 'patient', source, externalId, firstName, lastName, dateOfBirth, email, phone, provider, aliases };
}

function practitionerItem(practitioner: fhir.Practitioner, source: RecordSource, aliases: string[]): ParsedItem {
  const check = new FieldChecker();
  const externalId = check.externalId(identifierValue(practitioner.identifier), 'identifier', false) ?? null;
  const name = pickName(practitioner.name);
  const full = name?.text?.trim() || [...(name?.prefix ?? []), ...(name?.given ?? []), name?.family ?? ''].filter(Boolean).join(' ');
  const providerName = check.text(full, 'practitioner name', 100, true);
  if (check.reasons.length || !providerName) return { kind: 'rejected', source, reasons: check.reasons, externalId: externalId ?? undefined };
  return { kind: 'provider', source, externalId, name: providerName, aliases };
}

function appointmentItem(appointment: fhir.Appointment, source: RecordSource): ParsedItem | IgnoredItem {
  if (appointment.status && IGNORED_APPOINTMENT_STATUSES.has(appointment.status)) return { kind: 'ignored', reason: `${appointment.status} appointments are not imported` };
  const check = new FieldChecker();
  const externalId = check.externalId(identifierValue(appointment.identifier) ?? (appointment.id ? `Appointment/${appointment.id}` : undefined), 'identifier');
  const startsAt = appointment.start === undefined ? check.fail('missing start') : check.dateTime(appointment.start, 'start');
  const actors = (appointment.participant ?? []).map((participant) => participant.actor).filter((actor): actor is R4Reference => Boolean(actor));
  const patientActor = actors.find((actor) => actor.reference?.startsWith('Patient/') || actor.type === 'Patient') ?? actors.find((actor) => actor.reference?.startsWith('urn:'));
  const providerActor = actors.find((actor) => actor.reference?.startsWith('Practitioner/') || actor.type === 'Practitioner') ?? actors.find((actor) => actor !== patientActor && actor.reference?.startsWith('urn:'));
  if (!patientActor) check.fail('no Patient participant');
  if (check.reasons.length || !externalId || !startsAt || !patientActor) return { kind: 'rejected', source, reasons: check.reasons, externalId };
  return {
    kind: 'appointment',
    source,
    externalId,
    patient: { reference: patientActor.reference, externalId: patientActor.identifier?.value },
    provider: providerActor ? referenceOf(providerActor) : null,
    startsAt,
  };
}

/** The identifier of the given type (MR = medical record number), else the first one with a value. */
function identifierValue(identifiers: fhir.Identifier[] | undefined, type?: string): string | undefined {
  const list = (identifiers ?? []).filter((identifier) => identifier.value && (identifier.use as string | undefined) !== 'old');
  const typed = type ? list.find((identifier) => identifier.type?.coding?.some((coding) => coding.code === type)) : undefined;
  return (typed ?? list.find((identifier) => identifier.use === 'official') ?? list[0])?.value;
}

function pickName(names: fhir.HumanName[] | undefined): fhir.HumanName | undefined {
  const current = (names ?? []).filter((name) => name.use !== 'old' && !name.period?.end);
  return current.find((name) => name.use === 'official') ?? current.find((name) => name.use === 'usual') ?? current[0];
}

function referenceOf(reference: fhir.Reference): ProviderRef {
  return { reference: reference.reference, externalId: reference.identifier?.value, name: reference.display?.trim() || undefined };
}
