import { likePrefix } from '../../src/database/sql';
import {
  countSql,
  decodeCursor,
  encodeCursor,
  filterSql,
  keysetCondition,
  searchBranches,
  SORT_PLANS,
} from '../../src/portal-access/onboarding-filter';

describe('onboarding filter SQL', () => {
  it('escapes LIKE wildcards and the escape character itself', () => {
    expect(likePrefix('100%_a!b')).toBe('100!%!_a!!b%');
    expect(likePrefix("O'Br")).toBe("O'Br%");
  });

  it('counts account-only filters on portal_accounts alone and patient-only filters on patients alone', () => {
    expect(filterSql({ status: 'red' }).from).toBe('portal_accounts pa');
    expect(filterSql({ access: 'yes', username: 'no', tagId: 3 }).where.sql).toContain('pt.patient_id = pa.patient_id');
    expect(filterSql({ providerId: 2 }).from).toBe('patients p');
    expect(filterSql({ tagId: 4 }).from).toBe('patient_tags pt');
    expect(filterSql({}).from).toBe('patients p');
    expect(filterSql({ providerId: 2, status: 'gray' }).from).toBe('patients p JOIN portal_accounts pa ON pa.patient_id = p.id');
    // The page query always reads patients (it sorts on their columns).
    expect(filterSql({ status: 'red' }, true).from).toBe('patients p JOIN portal_accounts pa ON pa.patient_id = p.id');
    // MariaDB plan pinning names the sort's index.
    expect(filterSql({ status: 'red' }, true, 'ix_patients_name').from).toBe(
      'patients p FORCE INDEX (ix_patients_name) JOIN portal_accounts pa ON pa.patient_id = p.id',
    );
  });

  it('searches a name prefix on last OR first name, and "Last, First" on both', () => {
    const plain = filterSql({ q: 'sm' }).where;
    expect(plain.sql).toBe("(p.last_name LIKE ? ESCAPE '!' OR p.first_name LIKE ? ESCAPE '!')");
    expect(plain.params).toEqual(['sm%', 'sm%']);
    const both = filterSql({ q: 'Smith, Jo' }).where;
    expect(both.sql).toBe("(p.last_name LIKE ? ESCAPE '!' AND p.first_name LIKE ? ESCAPE '!')");
    expect(both.params).toEqual(['Smith%', 'Jo%']);
  });

  it.each([
    ['an address', 'Ann@Example.test', [["p.email LIKE ? ESCAPE '!'", ['Ann@Example.test%']]]],
    ['a date of birth as the clinic writes it', '02/03/1980', [['p.date_of_birth = ?', ['1980-02-03']]]],
    ['a date of birth as the date picker writes it', '1980-02-03', [['p.date_of_birth = ?', ['1980-02-03']]]],
    [
      'an MRN (or a name)',
      'DEMO-000123',
      [
        ["p.external_id LIKE ? ESCAPE '!'", ['DEMO-000123%']],
        ["p.last_name LIKE ? ESCAPE '!'", ['DEMO-000123%']],
        ["p.first_name LIKE ? ESCAPE '!'", ['DEMO-000123%']],
      ],
    ],
    [
      'a phone number as said',
      '(555) 123-4567',
      [
        ["p.phone_digits LIKE ? ESCAPE '!'", ['5551234567%']],
        ["p.last_name LIKE ? ESCAPE '!'", ['(555) 123-4567%']],
        ["p.first_name LIKE ? ESCAPE '!'", ['(555) 123-4567%']],
      ],
    ],
    [
      'digits: an MRN or a phone number',
      '5551234',
      [
        ["p.external_id LIKE ? ESCAPE '!'", ['5551234%']],
        ["p.phone_digits LIKE ? ESCAPE '!'", ['5551234%']],
        ["p.last_name LIKE ? ESCAPE '!'", ['5551234%']],
        ["p.first_name LIKE ? ESCAPE '!'", ['5551234%']],
      ],
    ],
    [
      'an impossible date: not a date of birth',
      '02/31/1980',
      [
        ["p.external_id LIKE ? ESCAPE '!'", ['02/31/1980%']],
        ["p.phone_digits LIKE ? ESCAPE '!'", ['02311980%']],
        ["p.last_name LIKE ? ESCAPE '!'", ['02/31/1980%']],
        ["p.first_name LIKE ? ESCAPE '!'", ['02/31/1980%']],
      ],
    ],
    [
      'a name',
      "O'Br",
      [
        ["p.last_name LIKE ? ESCAPE '!'", ["O'Br%"]],
        ["p.first_name LIKE ? ESCAPE '!'", ["O'Br%"]],
      ],
    ],
    [
      'a name with a digit and a space',
      'Smith 2',
      [
        ["p.last_name LIKE ? ESCAPE '!'", ['Smith 2%']],
        ["p.first_name LIKE ? ESCAPE '!'", ['Smith 2%']],
      ],
    ],
    [
      'an MRN with a LIKE wildcard',
      'A_1',
      [
        ["p.external_id LIKE ? ESCAPE '!'", ['A!_1%']],
        ["p.last_name LIKE ? ESCAPE '!'", ['A!_1%']],
        ["p.first_name LIKE ? ESCAPE '!'", ['A!_1%']],
      ],
    ],
  ])('searches by what the caller says: %s', (_what, q, expected) => {
    expect(searchBranches(q).map((b) => [b.sql, b.params])).toEqual(expected);
  });

  it('counts a search with alternatives as a UNION of one index range each', () => {
    const count = countSql({ q: '5551234', status: 'red' });
    expect(count.sql.match(/UNION/g)).toHaveLength(3);
    expect(count.params).toEqual(['5551234%', '5551234%', '5551234%', '5551234%']);
    expect(countSql({ q: '02/03/1980' }).sql).toBe('SELECT COUNT(*) AS total FROM patients p WHERE p.date_of_birth = ?');
  });

  it('reads appointment dates as whole UTC days (without a clinic clock) on the maintained next_appointment_at column', () => {
    const where = filterSql({ apptAfter: '2026-12-31', apptBefore: '2027-02-01' }).where;
    expect(where.sql).toBe('p.next_appointment_at < ? AND p.next_appointment_at >= ?');
    expect(where.params).toEqual(['2027-02-01 00:00:00', '2027-01-01 00:00:00']);
  });

  it('binds every user value as a parameter', () => {
    const where = filterSql({ q: "x' OR 1=1 --", tagId: 1, providerId: 2 }).where;
    expect(where.sql).not.toContain('OR 1=1');
  });

  it('writes keysets as nested comparisons, never row constructors', () => {
    const cond = keysetCondition(SORT_PLANS.name[0].columns, ['Smith', 'Jo', 7], 'after');
    expect(cond.sql).toBe('(p.last_name > ? OR (p.last_name = ? AND (p.first_name > ? OR (p.first_name = ? AND p.id > ?))))');
    expect(cond.params).toEqual(['Smith', 'Smith', 'Jo', 'Jo', 7]);
    expect(keysetCondition(SORT_PLANS.dob[0].columns, ['2000-01-01', 3], 'before').sql).toBe(
      '(p.date_of_birth < ? OR (p.date_of_birth = ? AND p.id < ?))',
    );
  });
});

describe('onboarding page cursors', () => {
  it('round-trip', () => {
    const cursor = { segment: 0, values: ['Smith', 'José', 12] };
    expect(decodeCursor(encodeCursor(cursor), 'name')).toEqual(cursor);
    expect(decodeCursor(encodeCursor({ segment: 1, values: [5] }), 'next')).toEqual({ segment: 1, values: [5] });
  });

  it.each([
    ['not base64 JSON', 'bm90IGpzb24', 'name'],
    ['a cursor of another sort', encodeCursor({ segment: 0, values: ['2000-01-01', 3] }), 'name'],
    ['a segment that does not exist', encodeCursor({ segment: 2, values: [3] }), 'next'],
    ['an id that is not a positive integer', encodeCursor({ segment: 0, values: ['a', 'b', -1] }), 'name'],
    ['an object instead of a list', Buffer.from('{"a":1}').toString('base64url'), 'name'],
    ['a date in another format', encodeCursor({ segment: 0, values: ['2000-1-1', 3] }), 'dob'],
  ] as const)('refuses %s with a 400', (_what, raw, sort) => {
    expect(() => decodeCursor(raw, sort)).toThrow(expect.objectContaining({ status: 400 }));
  });
});
