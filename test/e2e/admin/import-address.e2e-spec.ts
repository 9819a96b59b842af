import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uploadImport } from '../../support/imports';
import { signInAs } from '../../support/staff';
import { startTestApp, TestApp } from '../../support/test-app';

const HEADER =
  'external_id,first_name,last_name,date_of_birth,address_line1,address_line2,address_city,address_region,address_postal_code,address_country';

describe('an admin importing postal addresses', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof signInAs>>;
  let dir: string;

  beforeAll(async () => {
    t = await startTestApp();
    admin = await signInAs(t, 'admin');
    dir = mkdtempSync(join(tmpdir(), 'import-address-'));
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const addressOf = async (externalId: string) =>
    (
      await t.dataSource.query(
        'SELECT address_line1, address_line2, address_city, address_region, address_postal_code, address_country FROM patients WHERE external_id = ?',
        [externalId],
      )
    )[0];

  it('reads the address_* columns of a CSV, re-imports as a no-op, and changes only the part that changed', async () => {
    const csv = [
      HEADER,
      'ADR-1,Ada,Lovelace,1980-01-02, 12  Elm Street ,Apt 4,Springfield,IL,62704,USA',
      'ADR-2,Bo,Bare,1981-02-03,,,,,,',
    ].join('\n');
    const first = await uploadImport(t, admin, file('a.csv', csv));
    expect(first.run!.counts.patients).toEqual({ new: 2, changed: 0, unchanged: 0 });
    expect(await addressOf('ADR-1')).toEqual({
      address_line1: '12 Elm Street',
      address_line2: 'Apt 4',
      address_city: 'Springfield',
      address_region: 'IL',
      address_postal_code: '62704',
      address_country: 'USA',
    });
    expect(Object.values(await addressOf('ADR-2'))).toEqual([null, null, null, null, null, null]);

    expect((await uploadImport(t, admin, file('b.csv', csv))).run!.counts.patients).toEqual({ new: 0, changed: 0, unchanged: 2 });

    const moved = await uploadImport(t, admin, file('c.csv', csv.replace('Springfield,IL,62704', 'Shelbyville,IL,62565')));
    expect(moved.run!.counts.patients).toEqual({ new: 0, changed: 1, unchanged: 1 });
    expect(await addressOf('ADR-1')).toMatchObject({
      address_city: 'Shelbyville',
      address_postal_code: '62565',
      address_line1: '12 Elm Street',
    });

    // A file without address columns leaves the address on file alone.
    const noAddress = await uploadImport(
      t,
      admin,
      file('d.csv', 'external_id,first_name,last_name,date_of_birth\nADR-1,Ada,Lovelace,1980-01-02'),
    );
    expect(noAddress.run!.counts.patients).toEqual({ new: 0, changed: 0, unchanged: 1 });
    expect(await addressOf('ADR-1')).toMatchObject({ address_city: 'Shelbyville' });
  });

  it('refuses a row whose address part is too long, naming the part', async () => {
    const { run } = await uploadImport(
      t,
      admin,
      file('bad.csv', `${HEADER}\nADR-3,Cy,Long,1982-03-04,1 Road,,Town,,${'9'.repeat(21)},`),
    );
    expect(run!.status).not.toBe('applied');
    expect(run!.problems).toEqual([
      expect.objectContaining({ reason: expect.stringContaining('postal code is longer than 20 characters') }),
    ]);
    expect(await addressOf('ADR-3')).toBeUndefined();
  });

  it('takes Patient.address from FHIR: the current home address first, old and physical-only ones never', async () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        {
          resource: {
            resourceType: 'Patient',
            identifier: [{ value: 'ADR-F1' }],
            name: [{ family: 'Hopper', given: ['Grace'] }],
            birthDate: '1976-12-09',
            address: [
              { use: 'work', line: ['1 Office Park'], city: 'Arlington', postalCode: '22201' },
              { use: 'home', line: ['9 Old Road'], city: 'Past', postalCode: '00001', period: { end: '2020-01-01' } },
              { use: 'home', type: 'physical', line: ['Farm 3'], city: 'Nowhere', postalCode: '00002' },
              {
                use: 'home',
                line: ['221B Baker Street', 'Flat 2', 'Rear entrance'],
                city: 'London',
                state: 'Greater London',
                postalCode: 'NW1 6XE',
                country: 'GB',
              },
            ],
          },
        },
        {
          resource: {
            resourceType: 'Patient',
            identifier: [{ value: 'ADR-F2' }],
            name: [{ family: 'Liskov', given: ['Barbara'] }],
            birthDate: '1979-11-07',
            address: [{ use: 'work', line: ['1 Office Park'], city: 'Arlington', state: 'VA', postalCode: '22201' }],
          },
        },
      ],
    };
    const { run } = await uploadImport(t, admin, file('bundle.json', JSON.stringify(bundle)));
    expect(run!.status).toBe('applied');
    expect(await addressOf('ADR-F1')).toEqual({
      address_line1: '221B Baker Street',
      address_line2: 'Flat 2, Rear entrance',
      address_city: 'London',
      address_region: 'Greater London',
      address_postal_code: 'NW1 6XE',
      address_country: 'GB',
    });
    expect(await addressOf('ADR-F2')).toMatchObject({ address_line1: '1 Office Park', address_region: 'VA' });
  });
});
