import { ClinicClock, formatClinicDay, isTimeZone, parseClinicDate } from '../../src/common/time/clinic-time';

describe('the clinic calendar (typed dates)', () => {
  it.each([
    ['2026-02-28', '2026-02-28'],
    ['02/28/2026', '2026-02-28'],
    ['2/8/2026', '2026-02-08'],
    [' 12/01/2026 ', '2026-12-01'],
    ['02/29/2028', '2028-02-29'],
  ])('reads %s as %s', (typed, iso) => {
    expect(parseClinicDate(typed)).toEqual({ ok: true, iso });
  });

  it.each([
    ['02/31/2026', 'no-such-day'],
    ['2026-02-29', 'no-such-day'],
    ['13/01/2026', 'no-such-day'],
    ['2026-13-01', 'no-such-day'],
    ['soon', 'not-a-date'],
    ['2026/12/01', 'not-a-date'],
    ['01-12-2026', 'not-a-date'],
    ['', 'empty'],
  ])('refuses %s (%s)', (typed, problem) => {
    expect(parseClinicDate(typed)).toEqual({ ok: false, problem });
  });

  it('writes a day the way staff do', () => {
    expect(formatClinicDay('2026-02-08')).toBe('02/08/2026');
  });
});

describe('the clinic clock (CLINIC_TIME_ZONE)', () => {
  it('knows IANA names and refuses others', () => {
    expect(isTimeZone('America/New_York')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(isTimeZone('EST; DROP')).toBe(false);
    expect(() => new ClinicClock('Nowhere/Land')).toThrow(RangeError);
  });

  it('shows a stored UTC time in the clinic zone, with the zone', () => {
    const instant = new Date('2026-12-02T03:30:00Z');
    expect(new ClinicClock('UTC').formatDateTime(instant)).toBe('2026-12-02 03:30 UTC');
    expect(new ClinicClock('America/New_York').formatDateTime(instant)).toBe('2026-12-01 22:30 EST');
    expect(new ClinicClock('America/New_York').formatDateTime(new Date('2026-07-01T16:05:00Z'))).toBe('2026-07-01 12:05 EDT');
    expect(new ClinicClock('UTC').formatDateTime('2026-01-04T00:00:00Z')).toBe('2026-01-04 00:00 UTC');
    expect(new ClinicClock('UTC').formatDateTime(null)).toBe('');
  });

  it('finds where a clinic day begins in UTC, across daylight-saving changes', () => {
    const ny = new ClinicClock('America/New_York');
    expect(ny.startOfDay('2026-12-01').toISOString()).toBe('2026-12-01T05:00:00.000Z');
    expect(ny.startOfDay('2026-07-01').toISOString()).toBe('2026-07-01T04:00:00.000Z');
    // 2026-03-08 is 23 hours long in New York, 2026-11-01 is 25.
    expect(ny.startOfDay('2026-03-08').toISOString()).toBe('2026-03-08T05:00:00.000Z');
    expect(ny.startOfDay('2026-03-09').toISOString()).toBe('2026-03-09T04:00:00.000Z');
    expect(ny.startOfDay('2026-11-01').toISOString()).toBe('2026-11-01T04:00:00.000Z');
    expect(ny.startOfDay('2026-11-02').toISOString()).toBe('2026-11-02T05:00:00.000Z');
    expect(new ClinicClock('Asia/Kolkata').startOfDay('2026-12-01').toISOString()).toBe('2026-11-30T18:30:00.000Z');
    expect(new ClinicClock('UTC').startOfDay('2026-12-01').toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(ny.dayOf(new Date('2026-12-02T03:30:00Z'))).toBe('2026-12-01');
  });
});
