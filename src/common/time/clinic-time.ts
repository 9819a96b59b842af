/**
 * The clinic's calendar and clock. Stored times stay UTC; what people read and the days they
 * type are in CLINIC_TIME_ZONE. Dates are shown YYYY-MM-DD (unambiguous, what
 * <input type="date"> sends) and may be typed MM/DD/YYYY, the clinic's written format.
 */

/** True for an IANA zone name this runtime knows ("America/New_York", "UTC"). */
export function isTimeZone(name: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(name)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export type ClinicDateParse = { ok: true; iso: string } | { ok: false; problem: 'empty' | 'not-a-date' | 'no-such-day' };

/** "2026-02-28" or "02/28/2026" (also "2/8/2026") → "2026-02-28"; "02/31/2026" is no such day. */
export function parseClinicDate(text: string): ClinicDateParse {
  const value = text.trim();
  if (value === '') return { ok: false, problem: 'empty' };
  const iso = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const us = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(value);
  if (!iso && !us) return { ok: false, problem: 'not-a-date' };
  const [year, month, day] = iso ? [iso[1], iso[2], iso[3]].map(Number) : [us![3], us![1], us![2]].map(Number);
  if (month < 1 || month > 12 || day < 1 || day > 31) return { ok: false, problem: 'no-such-day' };
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return { ok: false, problem: 'no-such-day' };
  return { ok: true, iso: date.toISOString().slice(0, 10) };
}

/** "2026-12-01" → "12/01/2026", the way staff write a day. */
export function formatClinicDay(isoDay: string): string {
  const [year, month, day] = isoDay.split('-');
  return `${month}/${day}/${year}`;
}

/** Times in one zone: formatting for pages and emails, and where a clinic day begins in UTC. */
export class ClinicClock {
  private readonly parts: Intl.DateTimeFormat;
  /** formatDateTime by minute: a page formats 50+ times and Intl's formatToParts showed in the page's profile. */
  private readonly formatted = new Map<number, string>();

  constructor(readonly timeZone: string) {
    if (!isTimeZone(timeZone)) throw new RangeError(`Unknown time zone: ${timeZone}`);
    this.parts = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'short',
    });
  }

  /** "2026-12-01 09:30 EST": every time shown to staff and patients goes through here. */
  formatDateTime(value: Date | string | null | undefined): string {
    if (value === null || value === undefined || value === '') return '';
    const date = value instanceof Date ? value : new Date(value);
    if (Number.isNaN(date.getTime())) return '';
    const minute = Math.floor(date.getTime() / 60_000);
    const known = this.formatted.get(minute);
    if (known !== undefined) return known;
    const p = this.fields(date);
    const text = `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute} ${p.timeZoneName}`;
    if (this.formatted.size >= 10_000) this.formatted.clear();
    this.formatted.set(minute, text);
    return text;
  }

  /** The clinic's calendar day of an instant, YYYY-MM-DD. */
  dayOf(date: Date): string {
    const p = this.fields(date);
    return `${p.year}-${p.month}-${p.day}`;
  }

  /** The clinic's wall-clock hour (0–23) of an instant (the reminders' allowed hours). */
  hourOf(date: Date): number {
    return Number(this.fields(date).hour);
  }

  /** The UTC instant at which clinic day `isoDay` begins (DST-aware: a day may be 23 or 25 hours). */
  startOfDay(isoDay: string): Date {
    const [year, month, day] = isoDay.split('-').map(Number);
    const wallClock = Date.UTC(year, month - 1, day);
    // Two rounds settle the offset even when the guess lands on the other side of a DST change.
    let utc = wallClock - this.offsetMs(new Date(wallClock));
    utc = wallClock - this.offsetMs(new Date(utc));
    return new Date(utc);
  }

  /** Zone time minus UTC at an instant, in ms (New York in winter: -5 h). */
  private offsetMs(date: Date): number {
    const p = this.fields(date);
    const asUtc = Date.UTC(
      Number(p.year),
      Number(p.month) - 1,
      Number(p.day),
      Number(p.hour),
      Number(p.minute),
      Number(p.second),
    );
    return asUtc - Math.floor(date.getTime() / 1000) * 1000;
  }

  private fields(date: Date): Record<string, string> {
    const out: Record<string, string> = {};
    for (const part of this.parts.formatToParts(date)) out[part.type] = part.value;
    return out;
  }
}
