import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { POSTAL_ADDRESS_PARTS } from '../../patients/postal-address';
import { FieldChecker, importProblem, recordAt, type ParsedItem, type ProviderRef, type RecordSource } from '../import-records';
import { readCsvRecords } from './csv-records';
import { ImportFileError } from './import-file-error';
import { message } from '../../i18n/messages';

/** The CSV columns (README "CSV format"); each accepts a few common spellings. */
export const CSV_COLUMNS = {
  externalId: ['external_id', 'externalid', 'mrn', 'patient_id', 'id'],
  firstName: ['first_name', 'firstname', 'given_name'],
  lastName: ['last_name', 'lastname', 'family_name', 'surname'],
  dateOfBirth: ['date_of_birth', 'dob', 'birth_date', 'birthdate'],
  email: ['email', 'email_address'],
  phone: ['phone', 'phone_number', 'telephone'],
  language: ['language', 'preferred_language', 'lang'],
  tags: ['tags'],
  primaryProvider: ['primary_provider', 'provider'],
  nextAppointment: ['next_appointment', 'next_appointment_at', 'appointment'],
  appointmentProvider: ['appointment_provider', 'next_appointment_provider'],
  deceasedDate: ['deceased_date', 'date_of_death', 'deceased_on'],
  addressLine1: ['address_line1', 'address_line_1', 'address1', 'street'],
  addressLine2: ['address_line2', 'address_line_2', 'address2'],
  addressCity: ['address_city', 'city', 'town'],
  addressRegion: ['address_region', 'region', 'state', 'province'],
  addressPostalCode: ['address_postal_code', 'postal_code', 'zip', 'zip_code', 'postcode'],
  addressCountry: ['address_country', 'country'],
} as const;

type Column = keyof typeof CSV_COLUMNS;
const REQUIRED: Column[] = ['externalId', 'firstName', 'lastName', 'dateOfBirth'];
const normalizeHeader = (name: string) =>
  name
    .normalize('NFKC')
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');

/** Column positions of a header row; unknown columns are reported and ignored. */
export function mapHeader(header: string[]): { positions: Partial<Record<Column, number>>; ignored: string[] } {
  const positions: Partial<Record<Column, number>> = {};
  const ignored: string[] = [];
  header.forEach((raw, index) => {
    const name = normalizeHeader(raw);
    const column = (Object.keys(CSV_COLUMNS) as Column[]).find((key) => (CSV_COLUMNS[key] as readonly string[]).includes(name));
    if (!column) {
      if (name) ignored.push(raw.trim());
      return;
    }
    if (positions[column] !== undefined)
      throw new ImportFileError(message('staff:imports.fileProblem.columnTwice', { column: raw.trim() }));
    positions[column] = index;
  });
  const missing = REQUIRED.filter((column) => positions[column] === undefined);
  if (missing.length) {
    throw new ImportFileError(
      message('staff:imports.fileProblem.notPatientCsv', { columns: missing.map((c) => CSV_COLUMNS[c][0]).join(', ') }),
    );
  }
  return { positions, ignored };
}

/** A provider cell: a provider's name or external id (whichever matches). */
const providerRef = (text: string | undefined): ProviderRef | null => (text ? { name: text, externalId: text } : null);

/**
 * The id of the appointment a CSV row's "next appointment" columns describe: one per
 * patient, so a later file moves it instead of adding another.
 */
export function csvAppointmentId(patientExternalId: string): string {
  const readable = `csv-next:${patientExternalId}`;
  return readable.length <= 64
    ? readable
    : `csv-next:#${createHash('sha256').update(patientExternalId).digest('base64url').slice(0, 40)}`;
}

/**
 * Streams a CSV file into records (one row in memory at a time). A row yields a patient
 * and, when it has a next appointment, an appointment; a bad row (including one broken
 * by a stray quote) yields one rejected record with every reason.
 */
export async function* parseCsv(
  input: Readable,
  onIgnoredColumns: (columns: string[]) => void = () => undefined,
): AsyncGenerator<ParsedItem> {
  let header: ReturnType<typeof mapHeader> | null = null;
  let width = 0;
  let ordinal = 0;
  for await (const record of readCsvRecords(input)) {
    if (!header) {
      if ('error' in record)
        throw new ImportFileError(
          message('staff:imports.fileProblem.headerUnreadable', { line: record.line, error: record.error }),
        );
      header = mapHeader(record.cells);
      width = record.cells.length;
      onIgnoredColumns(header.ignored);
      continue;
    }
    const source: RecordSource = { label: recordAt.line(record.line), ordinal: ordinal++ };
    if ('error' in record) {
      yield { kind: 'rejected', source, reasons: [record.error] };
      continue;
    }
    if (record.cells.every((cell) => cell.trim() === '')) continue;
    yield* rowRecords(record.cells, header.positions, width, source);
  }
  if (!header) throw new ImportFileError(message('staff:imports.fileProblem.emptyCsv'));
}

function rowRecords(
  record: string[],
  positions: Partial<Record<Column, number>>,
  width: number,
  source: RecordSource,
): ParsedItem[] {
  const check = new FieldChecker();
  const has = (column: Column) => positions[column] !== undefined;
  const cell = (column: Column) => (has(column) ? (record[positions[column]!] ?? '') : undefined);
  if (record.length !== width) check.fail(importProblem('columnCount', { found: record.length, width }));

  const externalId = check.externalId(cell('externalId'));
  const firstName = check.text(cell('firstName'), 'firstName', 100, true);
  const lastName = check.text(cell('lastName'), 'lastName', 100, true);
  const dateOfBirth = check.birthDate(cell('dateOfBirth'));
  const email = has('email') ? check.email(cell('email')) : undefined;
  const phone = has('phone') ? (check.text(cell('phone'), 'phone', 32) ?? null) : undefined;
  const preferredLanguage = has('language') ? check.language(cell('language')) : undefined;
  // Any address column makes the row carry the whole address (an empty cell clears that part).
  const address = POSTAL_ADDRESS_PARTS.some(({ key }) => has(key))
    ? check.postalAddress(Object.fromEntries(POSTAL_ADDRESS_PARTS.map(({ key }) => [key, cell(key)])))
    : undefined;
  const tags = has('tags') ? tagList(check, cell('tags')!) : undefined;
  const provider = has('primaryProvider') ? providerRef(check.text(cell('primaryProvider'), 'primaryProvider', 100)) : undefined;
  const startsAt = has('nextAppointment') ? check.dateTime(cell('nextAppointment'), 'nextAppointment') : undefined;
  // A date marks the patient deceased; an empty cell leaves the flag as it is on file.
  const deceasedDate = has('deceasedDate') ? check.deceasedDate(cell('deceasedDate'), 'deceasedDate') : undefined;
  if (deceasedDate && dateOfBirth && deceasedDate < dateOfBirth.slice(0, deceasedDate.length))
    check.fail(importProblem('deathBeforeBirth', { value: deceasedDate }));
  const appointmentProvider = providerRef(check.text(cell('appointmentProvider'), 'appointmentProvider', 100));
  if (appointmentProvider && !startsAt && check.reasons.length === 0) check.fail(importProblem('providerWithoutAppointment'));

  if (check.reasons.length || !externalId || !firstName || !lastName || !dateOfBirth)
    return [{ kind: 'rejected', source, reasons: check.reasons, externalId }];
  const deceased = deceasedDate ? { deceased: true, deceasedDate } : {};
  const items: ParsedItem[] = [
    {
      kind: 'patient',
      source,
      externalId,
      firstName,
      lastName,
      dateOfBirth,
      email,
      phone,
      preferredLanguage,
      address,
      tags,
      provider,
      aliases: [],
      ...deceased,
    },
  ];
  if (startsAt) {
    items.push({
      kind: 'appointment',
      source,
      externalId: csvAppointmentId(externalId),
      patient: { externalId },
      provider: appointmentProvider ?? provider ?? null,
      startsAt,
    });
  }
  return items;
}

function tagList(check: FieldChecker, raw: string): string[] {
  const names = new Map<string, string>();
  for (const part of raw.split(';')) {
    const name = check.text(part, 'tag', 50);
    if (name) names.set(name.toLowerCase(), name);
  }
  return [...names.values()];
}
