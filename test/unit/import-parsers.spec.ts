import { Readable } from 'node:stream';
import { safeCell } from '../../src/common/csv-output';
import { ImportCheck } from '../../src/imports/import-check';
import { FieldChecker, type ParsedItem } from '../../src/imports/import-records';
import { parseCsv } from '../../src/imports/parsers/csv-import.parser';
import { parseBundle, parseNdjson, type IgnoredItem } from '../../src/imports/parsers/fhir-import.parser';
import { ImportFileError } from '../../src/imports/parsers/import-file-error';
import { inEnglish } from '../support/in-english';

/** Every item the parser yields; places and reasons are message keys, read here in English. */
async function collect(items: AsyncIterable<ParsedItem | IgnoredItem>): Promise<Array<ParsedItem | IgnoredItem>> {
  const all: Array<ParsedItem | IgnoredItem> = [];
  for await (const item of items) all.push(item);
  return inEnglish(all);
}
const csv = (text: string) => collect(parseCsv(Readable.from([Buffer.from(text)])));

describe('the CSV parser', () => {
  it('reads quoted names with commas, quotes and accents, and reports the physical line of each row', async () => {
    const items = await csv(
      '\uFEFFMRN,First Name,Last Name,DOB,Email\nA1,"Mary ""Molly""","van der Berg, Jr.",1975-01-31,\n"A2","Renée\nsecond line",Ø,1980-02-02,x@example.test\nA3,Zoë,Ní Bhriain,2001-07-15,z@example.test\n',
    );
    expect(items.map((item) => item.kind)).toEqual(['patient', 'rejected', 'patient']);
    const [first, , third] = items as Array<Extract<ParsedItem, { kind: 'patient' }>>;
    expect(first).toMatchObject({
      firstName: 'Mary "Molly"',
      lastName: 'van der Berg, Jr.',
      email: null,
      source: { label: 'line 2' },
    });
    // The second record spans two lines (a quoted line break is a control character in a name: rejected).
    expect(items[1]).toMatchObject({ kind: 'rejected' });
    expect(third.source.label).toBe('line 5');
  });

  it('rejects a row with every reason: bad date, invalid email, missing name, wrong column count', async () => {
    const [row] = await csv('external_id,first_name,last_name,date_of_birth,email\nB1,,Smith,1990-02-30,not-an-email,extra\n');
    expect(row).toMatchObject({ kind: 'rejected', externalId: 'B1' });
    expect((row as { reasons: string[] }).reasons).toEqual([
      'has 6 columns, the header has 5',
      'missing first name',
      'bad date of birth "1990-02-30" (use YYYY-MM-DD)',
      'invalid email "not-an-email"',
    ]);
  });

  it('refuses a file without the required columns as a whole', async () => {
    await expect(csv('order,amount\n1,2\n')).rejects.toThrow(ImportFileError);
    await expect(csv('')).rejects.toThrow('empty');
  });

  it('turns the next appointment columns into an appointment keyed by the patient', async () => {
    const items = await csv(
      'mrn,first_name,last_name,dob,next_appointment,appointment_provider\nC1,Al,Bo,1990-01-01,2031-04-30 08:00,Dr. X\n',
    );
    expect(items[1]).toMatchObject({
      kind: 'appointment',
      externalId: 'csv-next:C1',
      patient: { externalId: 'C1' },
      provider: { name: 'Dr. X' },
    });
    expect((items[1] as { startsAt: Date }).startsAt.toISOString()).toBe('2031-04-30T08:00:00.000Z');
  });
});

describe('the FHIR parsers', () => {
  const bundle = JSON.stringify({
    resourceType: 'Bundle',
    entry: [
      {
        fullUrl: 'urn:uuid:p1',
        resource: { resourceType: 'Practitioner', id: 'd1', name: [{ prefix: ['Dr.'], given: ['Ana'], family: 'Ruiz' }] },
      },
      {
        resource: {
          resourceType: 'Patient',
          id: 'x',
          identifier: [{ value: 'SSN-1' }, { type: { coding: [{ code: 'MR' }] }, value: 'M-1' }],
          name: [{ family: 'Doe "}{', given: ['Jane'] }],
          birthDate: '1970-01-01',
          telecom: [
            { system: 'email', value: 'old@example.test', use: 'old' },
            { system: 'email', value: 'jane@example.test' },
          ],
        },
      },
      { resource: { resourceType: 'Observation', id: 'o' } },
    ],
  });

  it('reads a Bundle entry by entry, whatever the chunk boundaries, mapping the MRN, name and current email', async () => {
    const chunks = bundle.match(/.{1,7}/gs)!;
    const items = await collect(parseBundle(Readable.from(chunks)));
    expect(items[0]).toMatchObject({ kind: 'provider', name: 'Dr. Ana Ruiz', aliases: ['Practitioner/d1', 'urn:uuid:p1'] });
    expect(items[1]).toMatchObject({
      kind: 'patient',
      externalId: 'M-1',
      firstName: 'Jane',
      lastName: 'Doe "}{',
      email: 'jane@example.test',
      source: { label: 'entry 2' },
    });
    expect(items[2]).toEqual({ kind: 'ignored', reason: 'Observation resources are not imported' });
  });

  it('refuses JSON that is not a complete Bundle', async () => {
    await expect(collect(parseBundle(Readable.from([bundle.slice(0, -5)])))).rejects.toThrow(
      'ends before the Bundle is complete',
    );
    // One resource instead of a Bundle is read as that resource (issue #20); one that is never imported is refused.
    await expect(collect(parseBundle(Readable.from(['{"resourceType":"Observation","id":"1"}'])))).rejects.toThrow(
      'is a Observation resource',
    );
  });

  it('reads NDJSON line by line; a broken line is a bad row, not a broken file', async () => {
    const items = await collect(
      parseNdjson(
        Readable.from([
          '{"resourceType":"Patient","identifier":[{"value":"N-1"}],"name":[{"family":"A","given":["B"]}],"birthDate":"2000-01-01"}\n{oops\n\n{"resourceType":"Appointment","id":"a","start":"2031-01-01T10:00:00+01:00","participant":[{"actor":{"reference":"Patient/1"}}]}\n',
        ]),
      ),
    );
    expect(items.map((item) => item.kind)).toEqual(['patient', 'rejected', 'appointment']);
    expect(items[1]).toMatchObject({ source: { label: 'line 2' }, reasons: ['not valid JSON'] });
    expect(items[2]).toMatchObject({ externalId: 'Appointment/a', patient: { reference: 'Patient/1' } });
  });
});

describe('checking a whole file', () => {
  it('rejects both rows of a duplicate external id (case-insensitive, as MariaDB compares) and keeps the others', () => {
    const check = new ImportCheck();
    const patient = (ordinal: number, externalId: string): ParsedItem => ({
      kind: 'patient',
      source: { label: `line ${ordinal + 2}`, ordinal },
      externalId,
      firstName: 'A',
      lastName: 'B',
      dateOfBirth: '2000-01-01',
      aliases: [],
    });
    check.add(patient(0, 'X-1'));
    check.add(patient(1, 'Y-1'));
    check.add(patient(2, 'x-1'));
    expect([...check.rejected].sort()).toEqual([0, 2]);
    expect(check.problems.map((p) => p.where)).toEqual(['line 2', 'line 4']);
    expect(check.counts).toMatchObject({ rows: 3, rejected: 2 });
  });

  it('reads dates and date-times strictly', () => {
    const check = new FieldChecker();
    expect(check.birthDate('2000-02-29')).toBe('2000-02-29');
    expect(check.birthDate('1900-02-29')).toBeUndefined();
    expect(check.birthDate('01/02/1990')).toBeUndefined();
    expect(check.dateTime('2031-05-04T09:30:00+02:00', 'start')!.toISOString()).toBe('2031-05-04T07:30:00.000Z');
    expect(check.dateTime('2031-05-04 25:00', 'start')).toBeUndefined();
    expect(check.email('jane@example')).toBeUndefined();
    expect(check.text('a\u0000b', 'firstName', 100)).toBeUndefined();
  });
});

describe('CSV cells of exports', () => {
  it('prefixes cells a spreadsheet would run as formulas', () => {
    expect(['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx', 'plain', "O'Brien"].map(safeCell)).toEqual([
      "'=1+1",
      "'+1",
      "'-1",
      "'@SUM(A1)",
      "'\tx",
      "'\rx",
      'plain',
      "O'Brien",
    ]);
    expect(safeCell(null)).toBe('');
  });
});
