/**
 * The normalized records every import format is turned into, and the field rules they
 * must pass. Parsers (CSV, FHIR) only map their format onto these shapes; validation and
 * applying are shared, so a rule lives here once.
 */
import {
  cleanAddressPart,
  POSTAL_ADDRESS_PARTS,
  postalAddressOf,
  type PostalAddress,
  type PostalAddressKey,
} from '../patients/postal-address';
import { EARLIEST_BIRTH_DATE, isCalendarDate } from '../common/time/calendar-date';
import { message, type MessageValues } from '../i18n/messages';

/** Where a record came from: a CSV line or a FHIR entry/line, for the error list. */
export interface RecordSource {
  /** "line 12" (CSV, NDJSON), "entry 3" (Bundle) or "the resource", as a message key (staff.json imports.at.*). */
  label: string;
  /** Ordinal of the record in the file (stable between passes over the same file). */
  ordinal: number;
}

/** A provider named by a row: by external id (FHIR identifier, NPI…) and/or by name. */
export interface ProviderRef {
  externalId?: string;
  name?: string;
  /** FHIR: `Practitioner/<id>` or a bundle fullUrl, resolved through the file's Practitioners. */
  reference?: string;
  /** FHIR: a reference that resolves to nothing is a warning (no provider), not a rejected row. */
  soft?: boolean;
}

export interface ProviderRecord {
  kind: 'provider';
  source: RecordSource;
  /** The NPI when the Practitioner has one, else another (never a national/personal) identifier. */
  externalId: string | null;
  name: string;
  /** FHIR references that point at this Practitioner (resource id, fullUrl). */
  aliases: string[];
  /** `Practitioner/<id>`: kept on the provider so a later file's reference finds it. */
  fhirId?: string | null;
}

export interface PatientRecord {
  kind: 'patient';
  source: RecordSource;
  externalId: string;
  /** FHIR identifier.system of the external id; undefined when the format has none (CSV). */
  externalIdSystem?: string | null;
  firstName: string;
  lastName: string;
  dateOfBirth: string;
  /** `undefined`: not said (left as it is); true/false: the record says so. */
  deceased?: boolean;
  /** YYYY, YYYY-MM or YYYY-MM-DD when the record gives one. */
  deceasedDate?: string | null;
  /** `undefined`: the file does not carry this field, leave it as it is; `null`: clear it. */
  email?: string | null;
  phone?: string | null;
  /** BCP 47, canonical case ("es", "es-MX"); `undefined`: not said, `null`: cleared. */
  preferredLanguage?: string | null;
  /** `undefined`: the file carries no address (left as it is); otherwise every part, null where empty. */
  address?: PostalAddress;
  tags?: string[];
  provider?: ProviderRef | null;
  /** FHIR references that point at this Patient. */
  aliases: string[];
}

export interface AppointmentRecord {
  kind: 'appointment';
  source: RecordSource;
  externalId: string;
  /** The patient's external id, or a FHIR reference to a Patient of the file. */
  patient: { externalId?: string; reference?: string };
  provider: ProviderRef | null;
  startsAt: Date;
}

export type ImportRecord = ProviderRecord | PatientRecord | AppointmentRecord;

/** A record the parser could not turn into a valid record (bad date, missing field…). */
export interface RejectedRecord {
  kind: 'rejected';
  source: RecordSource;
  reasons: string[];
  /** The external id when known, so the error list names the row. */
  externalId?: string;
  /** FHIR references that pointed at this (rejected) Patient, so its appointments say why they fail. */
  aliases?: string[];
  /** Which kind of record it would have been (a rejected Patient's appointments name it). */
  of?: 'patient' | 'provider' | 'appointment';
}

export type ParsedItem = ImportRecord | RejectedRecord;

/**
 * One bad row (or, in `warnings`, an imported row with a caveat) in the report. Never carries a personal identifier (SSN…).
 * `where` and `reason` are message keys (staff.json imports.at.* / imports.problem.*), shown in the staff language.
 */
export interface ImportProblem {
  where: string;
  externalId?: string;
  reason: string;
}

/** Where a record is, as a message key: the page says "line 3" / "línea 3". */
export const recordAt = {
  line: (line: number) => message('staff:imports.at.line', { line }),
  entry: (entry: number) => message('staff:imports.at.entry', { entry }),
  resource: message('staff:imports.at.resource'),
};

/** A row problem (or a warning, or a reason an item is not imported) as a message key: staff.json imports.problem.*. */
export const importProblem = (name: string, values?: MessageValues) => message(`staff:imports.problem.${name}`, values);

/** The fields a row problem names (staff.json imports.field.*); an address part is named by staff.json form.addressPart.*. */
export type ImportField =
  | 'externalId'
  | 'firstName'
  | 'lastName'
  | 'givenName'
  | 'familyName'
  | 'email'
  | 'phone'
  | 'language'
  | 'dateOfBirth'
  | 'dateOfDeath'
  | 'deceasedDate'
  | 'deceasedDateTime'
  | 'tag'
  | 'primaryProvider'
  | 'nextAppointment'
  | 'appointmentProvider'
  | 'mrn'
  | 'npi'
  | 'identifier'
  | 'practitionerName'
  | 'start';
const fieldName = (field: ImportField) => message(`staff:imports.field.${field}`);

const CONTROL_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
// Same shape class-validator's IsEmail accepts for ordinary addresses, kept simple and strict.
const EMAIL =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;
const EXTERNAL_ID = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
/** FHIR `date`: a year, a year-month or a full date. */
const PARTIAL_DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/;
const DATE_TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** Collects the reasons a record is bad while its fields are read. */
export class FieldChecker {
  readonly reasons: string[] = [];

  fail(reason: string): undefined {
    this.reasons.push(reason);
    return undefined;
  }

  /** A row problem (staff.json imports.problem.*), recorded as its message key. */
  private problem(name: string, values?: MessageValues): undefined {
    return this.fail(importProblem(name, values));
  }

  /** A required field the record lacks. */
  missing(field: ImportField): undefined {
    return this.problem('missing', { field: fieldName(field) });
  }

  /** A postal address from its parts as the file gives them (each cleaned and length-checked). */
  postalAddress(parts: Partial<Record<PostalAddressKey, unknown>>): PostalAddress {
    return postalAddressOf(
      Object.fromEntries(
        POSTAL_ADDRESS_PARTS.map(({ key, max }) => [
          key,
          cleanAddressPart(this.read(parts[key], message(`staff:form.addressPart.${key}`), max)),
        ]),
      ),
    );
  }

  /** Trimmed, NFC text; '' and missing become undefined; control characters and over-long values are refused. */
  text(value: unknown, field: ImportField, max: number, required = false): string | undefined {
    return this.read(value, fieldName(field), max, required);
  }

  /** `text` for a field named by its message key. */
  private read(value: unknown, field: string, max: number, required = false): string | undefined {
    const text =
      typeof value === 'string'
        ? value.normalize('NFC').trim()
        : value === undefined || value === null
          ? ''
          : String(value).trim();
    if (text === '') return required ? this.problem('missing', { field }) : undefined;
    if (CONTROL_CHARS.test(text) || /[\r\n\t]/.test(text)) return this.problem('controlCharacters', { field });
    if ([...text].length > max) return this.problem('tooLong', { field, max });
    return text;
  }

  externalId(value: unknown, field: ImportField = 'externalId', required = true): string | undefined {
    const text = this.text(value, field, 64, required);
    if (text === undefined) return undefined;
    if (!EXTERNAL_ID.test(text)) return this.problem('externalIdCharacters', { field: fieldName(field), value: text });
    return text;
  }

  email(value: unknown): string | null | undefined {
    const before = this.reasons.length;
    const text = this.text(value, 'email', 254);
    // Empty means "no email on file"; a refused value is an error, not a removal.
    if (text === undefined) return this.reasons.length > before ? undefined : null;
    if (!EMAIL.test(text)) return this.problem('email', { value: text });
    return text;
  }

  /**
   * A calendar date (YYYY-MM-DD) that exists and is not in the future. A year or
   * year-month alone is valid FHIR, but the patient's identity check (date of birth
   * before the password form) needs the full date: such a row is refused with that reason.
   */
  birthDate(value: unknown): string | undefined {
    const text = this.text(value, 'dateOfBirth', 10, true);
    if (text === undefined) return undefined;
    const partial = PARTIAL_DATE.exec(text);
    if (partial && !partial[3]) return this.problem(partial[2] ? 'birthMonthOnly' : 'birthYearOnly', { value: text });
    if (!ISO_DATE.test(text) || !isCalendarDate(text)) return this.problem('birthDate', { value: text });
    if (text > new Date().toISOString().slice(0, 10)) return this.problem('birthInFuture', { value: text });
    if (text < EARLIEST_BIRTH_DATE) return this.problem('birthTooEarly', { value: text, year: EARLIEST_BIRTH_DATE.slice(0, 4) });
    return text;
  }

  /** A BCP 47 language tag ("es", "en-US"), returned in canonical case; '' means not known (null). */
  language(value: unknown): string | null | undefined {
    const before = this.reasons.length;
    const text = this.text(value, 'language', 35);
    if (text === undefined) return this.reasons.length > before ? undefined : null;
    const bad = () => this.problem('language', { value: text });
    if (!/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(text)) return bad();
    try {
      return Intl.getCanonicalLocales(text)[0];
    } catch {
      return bad();
    }
  }

  /** A date of death: YYYY, YYYY-MM or YYYY-MM-DD (a date-time keeps its date), not in the future; '' means not given. */
  deceasedDate(value: unknown, field: ImportField = 'dateOfDeath'): string | undefined {
    const text = this.text(value, field, 40);
    if (text === undefined) return undefined;
    const datePart = /^\d{4}-\d{2}-\d{2}[T ]/.test(text) ? text.slice(0, 10) : text;
    const match = PARTIAL_DATE.exec(datePart);
    if (
      !match ||
      (match[3] && !isCalendarDate(datePart)) ||
      (match[2] && !match[3] && (Number(match[2]) < 1 || Number(match[2]) > 12))
    )
      return this.problem('date', { field: fieldName(field), value: text });
    if (datePart > new Date().toISOString().slice(0, datePart.length))
      return this.problem('inFuture', { field: fieldName(field), value: datePart });
    return datePart;
  }

  /** ISO 8601 date-time; without a zone it is read as UTC. */
  dateTime(value: unknown, field: ImportField): Date | undefined {
    const text = this.text(value, field, 40);
    if (text === undefined) return undefined;
    const match = DATE_TIME.exec(text);
    if (!match || !isCalendarDate(match[1]) || Number(match[2]) > 23 || Number(match[3]) > 59 || Number(match[4] ?? 0) > 59) {
      return this.problem('dateTime', { field: fieldName(field), value: text });
    }
    const zone = match[5] ? (match[5] === 'Z' ? 'Z' : match[5].replace(/^([+-]\d{2})(\d{2})$/, '$1:$2')) : 'Z';
    const date = new Date(`${match[1]}T${match[2]}:${match[3]}:${match[4] ?? '00'}${zone}`);
    if (Number.isNaN(date.getTime())) return this.problem('badValue', { field: fieldName(field), value: text });
    return date;
  }
}

/** Case- and width-folded key: MariaDB's unique indexes (utf8mb4_unicode_ci) compare this way, so the file must too. */
export const foldKey = (value: string) => value.normalize('NFKC').toLowerCase();
