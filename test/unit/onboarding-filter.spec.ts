import { decodeCursor, encodeCursor, filterSql, keysetCondition, likePrefix, SORT_PLANS } from '../../src/portal-access/onboarding-filter';

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
    expect(filterSql({ status: 'red' }, true, 'ix_patients_name').from).toBe('patients p FORCE INDEX (ix_patients_name) JOIN portal_accounts pa ON pa.patient_id = p.id');
  });

  it('searches a name prefix on last OR first name, and "Last, First" on both', () => {
    const plain = filterSql({ q: 'sm' }).where;
    expect(plain.sql).toBe("(p.last_name LIKE ? ESCAPE '!' OR p.first_name LIKE ? ESCAPE '!')");
    expect(plain.params).toEqual(['sm%', 'sm%']);
    const both = filterSql({ q: 'Smith, Jo' }).where;
    expect(both.sql).toBe("(p.last_name LIKE ? ESCAPE '!' AND p.first_name LIKE ? ESCAPE '!')");
    expect(both.params).toEqual(['Smith%', 'Jo%']);
  });

  it('reads appointment dates as whole UTC days on the maintained next_appointment_at column', () => {
    const where = filterSql({ apptAfter: '2026-12-31', apptBefore: '2027-02-01' }).where;
    expect(where.sql).toBe('p.next_appointment_at < ? AND p.next_appointment_at >= ?');
    expect(where.params).toEqual(['2027-02-01 00:00:00', '2027-01-01 00:00:00']);
  });

  it('binds every user value as a parameter', () => {
    const where = filterSql({ q: "x' OR 1=1 --", tagId: 1, providerId: 2 }).where;
    expect(where.sql).not.toContain("OR 1=1");
  });

  it('writes keysets as nested comparisons, never row constructors', () => {
    const cond = keysetCondition(SORT_PLANS.name[0].columns, ['Smith', 'Jo', 7], 'after');
    expect(cond.sql).toBe('(p.last_name > ? OR (p.last_name = ? AND (p.first_name > ? OR (p.first_name = ? AND p.id > ?))))');
    expect(cond.params).toEqual(['Smith', 'Smith', 'Jo', 'Jo', 7]);
    expect(keysetCondition(SORT_PLANS.dob[0].columns, ['2000-01-01', 3], 'before').sql).toBe('(p.date_of_birth < ? OR (p.date_of_birth = ? AND p.id < ?))');
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
