import { ImportCheck, type PatientOnFile, type PatientsOnFile } from '../../src/imports/import-check';
import type { ParsedItem } from '../../src/imports/import-records';
import { inEnglish } from '../support/in-english';

/**
 * The import's comparison with the patients on file (pass 1): which record is "a different
 * person" and held back. The sut is the check, built with its one collaborator (where it
 * finds the patients and providers on file), here a list.
 */
describe('comparing an import with the patients on file', () => {
  const onFile = (...patients: PatientOnFile[]): PatientsOnFile & { asked: string[][] } => {
    const asked: string[][] = [];
    return {
      asked,
      byExternalIds: async (ids) => {
        asked.push(ids);
        return patients.filter((patient) => ids.some((id) => id.toLowerCase() === patient.externalId.toLowerCase()));
      },
      existingExternalIds: async (ids) =>
        patients
          .filter((patient) => ids.some((id) => id.toLowerCase() === patient.externalId.toLowerCase()))
          .map((p) => p.externalId),
      providers: async () => [],
    };
  };
  const jane: PatientOnFile = {
    externalId: 'MRN-1',
    externalIdSystem: 'urn:oid:2.999.1',
    firstName: 'Jane',
    lastName: 'Doe',
    dateOfBirth: '1980-01-02',
  };
  let ordinal = 0;
  const record = (fields: Partial<Extract<ParsedItem, { kind: 'patient' }>>): ParsedItem => {
    const at = ordinal++;
    return {
      kind: 'patient',
      source: { label: `line ${at + 2}`, ordinal: at },
      externalId: 'MRN-1',
      firstName: 'Jane',
      lastName: 'Doe',
      dateOfBirth: '1980-01-02',
      aliases: [],
      ...fields,
    };
  };
  const compare = async (patients: PatientsOnFile, ...items: ParsedItem[]) => {
    const sut = new ImportCheck();
    for (const item of items) sut.add(item);
    await sut.compareWithDatabase(patients);
    return sut;
  };
  beforeEach(() => (ordinal = 0));

  it('takes an update of the name alone, or of the date of birth alone (a correction)', async () => {
    const renamed = await compare(onFile(jane), record({ firstName: 'Janet', lastName: 'Smith' }));
    expect(renamed.counts.rejected).toBe(0);
    const redated = await compare(onFile(jane), record({ dateOfBirth: '1980-02-01' }));
    expect(redated.counts.rejected).toBe(0);
  });

  it('holds back a record that changes both the name and the date of birth: it looks like a different person', async () => {
    const sut = await compare(onFile(jane), record({ firstName: 'John', dateOfBirth: '1990-05-05' }));
    expect(sut.counts.rejected).toBe(1);
    expect(inEnglish(sut.problems)).toEqual([
      {
        where: 'line 2',
        externalId: 'MRN-1',
        reason: expect.stringMatching(
          /^looks like a different person: both the name and the date of birth differ from the patient on file with this external id; not applied/,
        ),
      },
    ]);
  });

  it('compares names as the database does (case and Unicode forms folded), so a change of case is no rename', async () => {
    const sut = await compare(onFile(jane), record({ firstName: 'JANE', lastName: 'doe', dateOfBirth: '1999-09-09' }));
    expect(sut.counts.rejected).toBe(0);
  });

  it('holds back a record whose identifier value is on file under another identifier system', async () => {
    const sut = await compare(onFile(jane), record({ externalIdSystem: 'urn:oid:2.999.77' }));
    expect(inEnglish(sut.problems).map((problem) => problem.reason)).toEqual([
      "looks like a different person: the patient on file with this identifier value is from another identifier system (urn:oid:2.999.1, this record's is urn:oid:2.999.77); not applied",
    ]);
  });

  it('does not compare systems when either side has none (a CSV row, or a patient on file from a CSV)', async () => {
    expect((await compare(onFile(jane), record({}))).counts.rejected).toBe(0);
    expect(
      (await compare(onFile({ ...jane, externalIdSystem: null }), record({ externalIdSystem: 'urn:oid:2.999.77' }))).counts
        .rejected,
    ).toBe(0);
  });

  it('finds the patient on file case-insensitively, and leaves new patients alone', async () => {
    const sut = await compare(
      onFile(jane),
      record({ externalId: 'mrn-1', firstName: 'Max', dateOfBirth: '2001-01-01' }),
      record({ externalId: 'MRN-2', firstName: 'New' }),
    );
    expect(sut.problems.map((problem) => problem.where)).toEqual(['line 2']);
  });

  it('asks for the patients on file once per batch, not once per row, and not for a row already rejected', async () => {
    const patients = onFile(jane);
    const sut = new ImportCheck();
    sut.add(record({ externalId: 'DUP' }));
    sut.add(record({ externalId: 'DUP' }));
    for (let i = 0; i < 5; i++) sut.add(record({ externalId: `MRN-${i + 10}` }));
    expect(sut.pendingComparisons).toBe(6);
    await sut.compareWithDatabase(patients);
    expect(patients.asked).toHaveLength(1);
    expect(sut.pendingComparisons).toBe(0);
    expect(sut.counts.rejected).toBe(2);
  });
});
