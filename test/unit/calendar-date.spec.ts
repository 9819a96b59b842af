import { birthDateProblem, EARLIEST_BIRTH_DATE, isCalendarDate } from '../../src/common/time/calendar-date';
import { CalendarDate } from '../../src/common/validation/query-fields';

describe('the one calendar-date rule', () => {
  it.each([
    ['2024-02-29', true],
    ['2025-02-29', false],
    ['2025-02-30', false],
    ['2025-13-01', false],
    ['1880-01-01', true],
    ['25-01-01', false],
    ['2025-1-1', false],
    [20250101, false],
  ])('%p is a calendar date: %p (the filters’ validator agrees)', (value, expected) => {
    expect(isCalendarDate(value)).toBe(expected);
    expect(new CalendarDate().validate(value)).toBe(expected);
  });

  it('bounds a date of birth once: not before 1880, not after today (UTC)', () => {
    const now = new Date('2026-12-01T12:00:00Z');
    expect(EARLIEST_BIRTH_DATE).toBe('1880-01-01');
    expect(birthDateProblem('1879-12-31', now)).toBe('too_early');
    expect(birthDateProblem('1880-01-01', now)).toBeNull();
    expect(birthDateProblem('1899-06-15', now)).toBeNull();
    expect(birthDateProblem('2026-12-01', now)).toBeNull();
    expect(birthDateProblem('2026-12-02', now)).toBe('future');
    expect(birthDateProblem('1975-02-30', now)).toBe('not_a_date');
  });
});
