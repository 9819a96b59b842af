import { Readable } from 'node:stream';
import { ImportCheck, type PatientsOnFile } from '../../src/imports/import-check';
import { FieldChecker, type ParsedItem } from '../../src/imports/import-records';
import { parseCsv } from '../../src/imports/parsers/csv-import.parser';
import {
  medicalRecordNumber,
  nameParts,
  parseBundle,
  parseNdjson,
  REQUEST_ENTRY_REASON,
  resourceItems,
  type IgnoredItem,
} from '../../src/imports/parsers/fhir-import.parser';
import { inviteBlock, mayEnable } from '../../src/portal-access/portal-eligibility';
import { inEnglish } from '../support/in-english';

/** Every item the parser yields; places and reasons are message keys, read here in English. */
async function collect(items: AsyncIterable<ParsedItem | IgnoredItem>): Promise<Array<ParsedItem | IgnoredItem>> {
  const all: Array<ParsedItem | IgnoredItem> = [];
  for await (const item of items) all.push(item);
  return inEnglish(all);
}
const source = { label: 'entry 1', ordinal: 0 };
const patient = (extra: Record<string, unknown>) => ({
  resourceType: 'Patient',
  id: 'p',
  name: [{ family: 'Doe', given: ['Jane'] }],
  birthDate: '1970-01-01',
  ...extra,
});
const one = (resource: unknown, mrnSystem: string | null = null) =>
  inEnglish(resourceItems(resource, source, null, { mrnSystem })[0]) as ParsedItem & { reasons?: string[] };
const SSN = {
  system: 'http://hl7.org/fhir/sid/us-ssn',
  type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'SS' }] },
  value: '999-12-3456',
};

describe('which identifier becomes the external id', () => {
  it('never takes a Social Security, national id, driver licence or passport number, and never echoes one', () => {
    const personal = [
      SSN,
      { system: 'http://fhir.nl/fhir/NamingSystem/bsn', value: '123456782' },
      { type: { coding: [{ code: 'DL' }] }, system: 'urn:oid:2.16.840.1.113883.4.3.25', value: 'S99912345' },
      { type: { coding: [{ code: 'PPN' }] }, value: 'X1234567' },
      { type: { text: 'Social Security Number' }, value: '999-00-1111' },
    ];
    const item = one(patient({ identifier: personal }));
    expect(item).toMatchObject({ kind: 'rejected', reasons: ['no medical record number'] });
    expect(JSON.stringify(item)).not.toMatch(/999-12-3456|123456782|S99912345|X1234567|999-00-1111/);
    // An untyped value written like an SSN is not taken either; an MR-typed one is the clinic's own number.
    expect(one(patient({ identifier: [{ value: '123-45-6789' }] })).reasons).toEqual(['no medical record number']);
    expect(one(patient({ identifier: [{ type: { coding: [{ code: 'MR' }] }, value: '123-45-6789' }] }))).toMatchObject({
      kind: 'patient',
      externalId: '123-45-6789',
    });
    // With an MRN beside them, the MRN is the external id even when the SSN comes first.
    expect(one(patient({ identifier: [SSN, { value: 'M-77' }] }))).toMatchObject({ kind: 'patient', externalId: 'M-77' });
  });

  it('recognises Epic-shaped MRN / EPI types in type.text, not the first identifier (a CEID)', () => {
    const identifier = [
      { use: 'usual', type: { text: 'CEID' }, system: 'urn:oid:1.2.840.114350.1.13.0.1.7.3.688884.100', value: 'CEID-1' },
      { use: 'usual', type: { text: 'EPI' }, system: 'urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.0', value: 'E1234' },
    ];
    expect(one(patient({ identifier }))).toMatchObject({
      kind: 'patient',
      externalId: 'E1234',
      externalIdSystem: 'urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.0',
    });
    expect(
      one(
        patient({
          identifier: [
            { type: { text: 'CEID' }, value: 'C-2' },
            { type: { text: ' mrn ' }, value: 'M-2' },
          ],
        }),
      ),
    ).toMatchObject({ externalId: 'M-2' });
    expect(one(patient({ identifier: [{ value: 'X-1' }, { type: { coding: [{ code: 'MR' }] }, value: 'M-3' }] }))).toMatchObject({
      externalId: 'M-3',
    });
  });

  it('with IMPORT_MRN_SYSTEM takes only that system, and says so when it is missing', () => {
    const identifier = [
      { type: { coding: [{ code: 'MR' }] }, system: 'urn:other', value: 'O-1' },
      { system: 'urn:oid:1.2.3', value: 'C-1' },
    ];
    expect(medicalRecordNumber(identifier, 'urn:oid:1.2.3')).toEqual({ identifier: identifier[1] });
    const missing = one(patient({ identifier: [identifier[0]] }), 'urn:oid:1.2.3');
    expect(missing.reasons).toEqual(["no medical record number (no identifier of the clinic's MRN system urn:oid:1.2.3)"]);
  });

  it("prefers a practitioner's NPI, never an SSN", () => {
    const practitioner = {
      resourceType: 'Practitioner',
      id: 'd1',
      identifier: [SSN, { system: 'urn:x', value: 'X-9' }, { system: 'http://hl7.org/fhir/sid/us-npi', value: '1234567893' }],
      name: [{ text: 'Dr. Ana Ruiz' }],
    };
    expect(one(practitioner)).toMatchObject({
      kind: 'provider',
      externalId: '1234567893',
      fhirId: 'Practitioner/d1',
      name: 'Dr. Ana Ruiz',
    });
    expect(one({ ...practitioner, identifier: [SSN] })).toMatchObject({ kind: 'provider', externalId: null });
  });
});

describe('valid FHIR that used to be refused', () => {
  it('refuses a year or year-month birth date with the true reason', () => {
    expect(one(patient({ identifier: [{ value: 'A' }], birthDate: '1970' })).reasons).toEqual([
      "only the year of birth is known (1970); the portal's identity check needs a full date of birth",
    ]);
    expect(one(patient({ identifier: [{ value: 'A' }], birthDate: '1970-05' })).reasons).toEqual([
      "only the year and month of birth is known (1970-05); the portal's identity check needs a full date of birth",
    ]);
  });

  it('uses a name given only as text: the last word is the family name', () => {
    expect(nameParts({ text: 'Mary Ann  van Dyke' })).toEqual({ given: 'Mary Ann van', family: 'Dyke' });
    expect(one(patient({ identifier: [{ value: 'A' }], name: [{ text: 'José Ortega' }] }))).toMatchObject({
      kind: 'patient',
      firstName: 'José',
      lastName: 'Ortega',
    });
    expect(one(patient({ identifier: [{ value: 'A' }], name: [{ text: 'Cher' }] })).reasons).toEqual(['missing given name']);
  });

  it('picks the email and phone of the best ContactPoint.rank', () => {
    const telecom = [
      { system: 'email', value: 'work@example.test', rank: 2 },
      { system: 'phone', value: '555-0102' },
      { system: 'email', value: 'home@example.test', rank: 1 },
      { system: 'phone', value: '555-0101', rank: 3 },
    ];
    expect(one(patient({ identifier: [{ value: 'A' }], telecom }))).toMatchObject({
      email: 'home@example.test',
      phone: '555-0101',
    });
  });

  it('counts proposed and waitlisted appointments without a start as not imported', () => {
    const appointment = (status: string, start?: string) => ({
      resourceType: 'Appointment',
      id: status,
      status,
      start,
      participant: [{ actor: { reference: 'Patient/p' } }],
    });
    expect(one(appointment('proposed'))).toEqual({
      kind: 'ignored',
      reason: 'proposed appointments without a start are not imported',
    });
    expect(one(appointment('waitlist'))).toEqual({
      kind: 'ignored',
      reason: 'waitlist appointments without a start are not imported',
    });
    expect(one(appointment('proposed', '2031-01-01T09:00:00Z'))).toMatchObject({ kind: 'appointment' });
    expect(one(appointment('booked')).reasons).toEqual(['missing start']);
  });

  it('reads the deceased flag and date (a date-time keeps its date; a partial date stays as given)', () => {
    expect(one(patient({ identifier: [{ value: 'A' }], deceasedDateTime: '2021-03-04T10:00:00+01:00' }))).toMatchObject({
      deceased: true,
      deceasedDate: '2021-03-04',
    });
    expect(one(patient({ identifier: [{ value: 'A' }], deceasedDateTime: '2021' }))).toMatchObject({
      deceased: true,
      deceasedDate: '2021',
    });
    expect(one(patient({ identifier: [{ value: 'A' }], deceasedBoolean: true }))).toMatchObject({
      deceased: true,
      deceasedDate: null,
    });
    expect(one(patient({ identifier: [{ value: 'A' }], deceasedBoolean: false }))).toMatchObject({ deceased: false });
    expect((one(patient({ identifier: [{ value: 'A' }] })) as { deceased?: boolean }).deceased).toBeUndefined();
    expect(new FieldChecker().deceasedDate('2999-01-01')).toBeUndefined();
  });

  it('counts transaction entries without a resource and reads a single pretty-printed resource', async () => {
    const bundle = JSON.stringify({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'DELETE', url: 'Patient/9' } },
        { fullUrl: 'urn:uuid:1', resource: patient({ identifier: [{ value: 'A' }] }) },
        { request: { method: 'GET', url: 'Patient?x=1' } },
      ],
    });
    const items = await collect(parseBundle(Readable.from([bundle])));
    expect(items.map((item) => item.kind)).toEqual(['ignored', 'patient', 'ignored']);
    expect(items[0]).toEqual({ kind: 'ignored', reason: inEnglish(REQUEST_ENTRY_REASON) });
    expect(inEnglish(REQUEST_ENTRY_REASON)).toBe('request entries (DELETE/GET, no resource)');
    const single = await collect(
      parseBundle(Readable.from(JSON.stringify(patient({ identifier: [{ value: 'S-1' }] }), null, 2).match(/[^]{1,9}/g)!)),
    );
    expect(single).toEqual([
      expect.objectContaining({ kind: 'patient', externalId: 'S-1', source: { label: 'the resource', ordinal: 0 } }),
    ]);
  });

  it('applies the 4 MB cap only to imported resources, without their narrative', async () => {
    const narrative = `<div xmlns="http://www.w3.org/1999/xhtml">${'x\\"y '.repeat(1_300_000)}</div>`;
    const document = {
      resourceType: 'DocumentReference',
      id: 'd',
      content: [{ attachment: { data: 'QUJD'.repeat(1_500_000) } }],
    };
    const bigPatient = {
      resourceType: 'Patient',
      id: 'q',
      identifier: [{ value: 'B-2' }],
      name: [{ family: 'Big', given: ['Bo'] }],
      birthDate: '1980-01-01',
      photo: [{ data: 'QUJD'.repeat(1_200_000) }],
    };
    const entries = [
      { resource: patient({ identifier: [{ value: 'N-1' }], text: { status: 'generated', div: narrative } }) },
      { resource: document },
      { resource: bigPatient },
      { resource: patient({ identifier: [{ value: 'N-2' }] }) },
    ];
    const bundle = JSON.stringify({ resourceType: 'Bundle', entry: entries });
    expect(bundle.length).toBeGreaterThan(15_000_000);
    const items = await collect(parseBundle(Readable.from(bundle.match(/[^]{1,65536}/g)!)));
    expect(items.map((item) => item.kind)).toEqual(['patient', 'ignored', 'rejected', 'patient']);
    expect(items[1]).toEqual({ kind: 'ignored', reason: 'DocumentReference resources are not imported' });
    expect(items[2]).toMatchObject({
      source: { label: 'entry 3' },
      reasons: ['the Patient is larger than 4 MB without its narrative; that is not a patient record'],
    });
    const ndjson = entries.map((entry) => JSON.stringify(entry.resource)).join('\n');
    const lines = await collect(parseNdjson(Readable.from([ndjson])));
    expect(lines.map((item) => item.kind)).toEqual(['patient', 'ignored', 'rejected', 'patient']);
  });
});

describe('CSV rows with a stray quote', () => {
  const csv = (text: string) => collect(parseCsv(Readable.from([Buffer.from(text)])));

  it('are bad rows naming the line, and the rows after them are read', async () => {
    const items = await csv(
      'mrn,first_name,last_name,dob\nA1,Al,Bo,1990-01-01\nA2,Jo "Jo",Smith,1990-01-01\nA3,"Ann"x,Lee,1990-01-01\nA4,"Mary ""Molly""",Ray,1990-01-01\n',
    );
    expect(items.map((item) => [item.kind, (item as { source: { label: string } }).source.label])).toEqual([
      ['patient', 'line 2'],
      ['rejected', 'line 3'],
      ['rejected', 'line 4'],
      ['patient', 'line 5'],
    ]);
    expect((items[1] as { reasons: string[] }).reasons[0]).toMatch(
      /^a double quote inside cell 2, which does not start with one/,
    );
    expect((items[2] as { reasons: string[] }).reasons[0]).toMatch(/^text after the closing quote of cell 2/);
    expect(items[3]).toMatchObject({ firstName: 'Mary "Molly"' });
  });

  it('say where a quoted cell that never closes begins', async () => {
    const items = await csv(
      'mrn,first_name,last_name,dob\r\nA1,Al,Bo,1990-01-01\r\nA2,"Jo,Smith,1990-01-01\r\nA3,Z,Z,1990-01-01\r\n',
    );
    expect(items.map((item) => item.kind)).toEqual(['patient', 'rejected']);
    expect(items[1]).toMatchObject({ source: { label: 'line 3' } });
    expect((items[1] as { reasons: string[] }).reasons[0]).toMatch(
      /^a quoted cell \(cell 2\) opens here and is never closed, so lines 3–4 could not be read/,
    );
  });

  it('refuse a row longer than 64 KB without losing the next one', async () => {
    const items = await csv(`mrn,first_name,last_name,dob\nA1,${'x'.repeat(70_000)},Bo,1990-01-01\nA2,Cy,Do,1990-01-01\n`);
    expect(items.map((item) => item.kind)).toEqual(['rejected', 'patient']);
    expect(items[0]).toMatchObject({ source: { label: 'line 2' }, reasons: ['the row is longer than 64 KB'] });
  });

  it('mark a patient deceased from the deceased_date column (an empty cell leaves it)', async () => {
    const items = await csv(
      'mrn,first_name,last_name,dob,deceased_date\nA1,Al,Bo,1990-01-01,2024-02-03\nA2,Cy,Do,1990-01-01,\nA3,Ed,Fo,1990-01-01,1980-01-01\n',
    );
    expect(items[0]).toMatchObject({ kind: 'patient', deceased: true, deceasedDate: '2024-02-03' });
    expect((items[1] as { deceased?: boolean }).deceased).toBeUndefined();
    expect(items[2]).toMatchObject({ kind: 'rejected', reasons: ['deceased date 1980-01-01 is before the date of birth'] });
  });
});

describe('checking references across a FHIR file', () => {
  it("says an appointment's patient was rejected instead of calling it unknown", async () => {
    const check = new ImportCheck();
    for (const item of resourceItems(
      patient({ id: 'bad', identifier: [SSN] }),
      { label: 'entry 20', ordinal: 19 },
      'urn:uuid:bad',
    ))
      check.add(item);
    const appointment = {
      resourceType: 'Appointment',
      id: 'a1',
      status: 'booked',
      start: '2031-01-01T09:00:00Z',
      participant: [{ actor: { reference: 'Patient/bad' } }],
    };
    for (const item of resourceItems(appointment, { label: 'entry 21', ordinal: 20 }, null)) check.add(item);
    await check.resolve(fakeDb());
    expect(inEnglish(check.problems).map((problem) => `${problem.where}: ${problem.reason}`)).toEqual([
      'entry 20: no medical record number',
      'entry 21: patient entry 20 was rejected',
    ]);
  });

  it('keeps two practitioners of one name apart by NPI, and only warns for a reference that resolves to nothing', async () => {
    const check = new ImportCheck();
    const doctor = (id: string, npi: string) => ({
      resourceType: 'Practitioner',
      id,
      identifier: [{ system: 'http://hl7.org/fhir/sid/us-npi', value: npi }],
      name: [{ given: ['Sam'], family: 'Lee' }],
    });
    const items = [
      ...resourceItems(doctor('d1', '1111111111'), { label: 'entry 1', ordinal: 0 }, null),
      ...resourceItems(doctor('d2', '2222222222'), { label: 'entry 2', ordinal: 1 }, null),
      ...resourceItems(
        patient({ identifier: [{ value: 'P-1' }], generalPractitioner: [{ reference: 'Practitioner/d2' }] }),
        { label: 'entry 3', ordinal: 2 },
        null,
      ),
      ...resourceItems(
        patient({ id: 'p2', identifier: [{ value: 'P-2' }], generalPractitioner: [{ reference: 'Practitioner/gone' }] }),
        { label: 'entry 4', ordinal: 3 },
        null,
      ),
    ];
    items.forEach((item) => check.add(item));
    await check.resolve(fakeDb());
    expect(check.problems).toEqual([]);
    expect(check.providers.map((provider) => provider.externalId)).toEqual(['1111111111', '2222222222']);
    expect([...check.providerTargets.values()]).toEqual([{ file: 1 }]);
    expect(inEnglish(check.warnings)).toEqual([
      { where: 'entry 4', reason: 'unknown provider "Practitioner/gone"; imported without a provider' },
    ]);
    expect(check.counts.warnings).toBe(1);
  });
});

describe('what a file can make the check keep', () => {
  it('lists at most 50 kinds of skipped entries, counting the rest together', () => {
    const check = new ImportCheck();
    for (let i = 0; i < 1000; i++) check.add({ kind: 'ignored', reason: `Type${i} resources are not imported` });
    expect(Object.keys(check.counts.ignored)).toHaveLength(51);
    expect(inEnglish(check.counts.ignored)['other entries that are not imported']).toBe(950);
  });
});

describe('who may be enabled and invited', () => {
  it('never a deceased patient', () => {
    expect(mayEnable({ deceased: true })).toBe(false);
    expect(mayEnable({ deceased: false })).toBe(true);
    expect(inviteBlock({ deceased: true, accessEnabled: true, email: 'a@example.test' })).toBe('deceased');
    expect(inviteBlock({ deceased: false, accessEnabled: false, email: 'a@example.test' })).toBe('not_enabled');
    expect(inviteBlock({ deceased: false, accessEnabled: true, email: null })).toBe('no_email');
    expect(inviteBlock({ deceased: false, accessEnabled: true, email: 'a@example.test' })).toBeNull();
  });
});

/** The two queries resolve() makes, on an empty database. */
/** Nothing on file: no patients, no providers. */
function fakeDb(): PatientsOnFile {
  return { byExternalIds: async () => [], existingExternalIds: async () => [], providers: async () => [] };
}
