/**
 * The one calendar-date rule: a real day written YYYY-MM-DD (2025-02-30 is refused), and the
 * one set of bounds for a date of birth. The dashboard's details form, the import and the
 * onboarding filters all use it, so a date one accepts the others accept too.
 */

/** No one on file was born before this day (the import and the dashboard refuse earlier dates). */
export const EARLIEST_BIRTH_DATE = '1880-01-01';

export function isCalendarDate(value: unknown): value is string {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
}

export type BirthDateProblem = 'not_a_date' | 'future' | 'too_early';

/** Why `value` cannot be a date of birth, or null; "today" is the UTC date. */
export function birthDateProblem(value: string, now = new Date()): BirthDateProblem | null {
  if (!isCalendarDate(value)) return 'not_a_date';
  if (value > now.toISOString().slice(0, 10)) return 'future';
  if (value < EARLIEST_BIRTH_DATE) return 'too_early';
  return null;
}

/** Age in whole years on clinic day `day` (both YYYY-MM-DD); someone born on 29 February ages on 1 March in other years. */
export function ageOn(dateOfBirth: string, day: string): number {
  const [by, bm, bd] = dateOfBirth.slice(0, 10).split('-').map(Number);
  const [y, m, d] = day.split('-').map(Number);
  return y - by - (m < bm || (m === bm && d < bd) ? 1 : 0);
}

/** The latest date of birth of someone at least `years` old on `day` (the age sweep's cut-off). */
export function bornByForAge(years: number, day: string): string {
  const [y, m, d] = day.split('-').map(Number);
  // 29 February in a non-leap cut-off year: only those born by 28 February are that old yet.
  const date = new Date(Date.UTC(y - years, m - 1, d));
  if (date.getUTCMonth() !== m - 1) date.setUTCDate(0);
  return date.toISOString().slice(0, 10);
}
