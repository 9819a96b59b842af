import { BadRequestException } from '@nestjs/common';
import { parseClinicDate, type ClinicClock } from '../common/time/clinic-time';
import { LIKE, likePrefix, toSqlDateTime } from '../database/sql';
import {
  firstInviteMonthSql,
  funnelConditionSql,
  worklistConditionSql,
  type FunnelStage,
  type WorklistView,
} from './activation-filters';
import {
  inviteProblemConditionSql,
  portalStatusConditionSql,
  type InviteProblem,
  type PortalStatus,
  type StatusChoice,
} from './portal-status';
import { languageCondition } from './onboarding-language';
import { representativeFilterSql } from './representatives/representative-rules';
import { message } from '../i18n/messages';

/**
 * The onboarding page's filters and sort orders as SQL, kept pure so unit tests can
 * read them. Shapes follow ../shared/PERF-NOTES.md: filters that only touch one table
 * are counted on that table alone, keysets are nested `a > ? OR (a = ? AND …)`
 * conditions (MariaDB does not range-scan row constructors), the next appointment is
 * the maintained `patients.next_appointment_at` column.
 */
export interface OnboardingFilter {
  /** What the caller says: a name prefix ("Last, First" narrows both), MRN, date of birth, phone digits or email (searchBranches). */
  q?: string;
  tagId?: number;
  providerId?: number;
  access?: 'yes' | 'no';
  username?: 'yes' | 'no';
  /** YYYY-MM-DD, a day in CLINIC_TIME_ZONE: the next appointment starts before this day begins. */
  apptBefore?: string;
  /** YYYY-MM-DD, a day in CLINIC_TIME_ZONE: the next appointment starts after this day ends. */
  apptAfter?: string;
  /** The UTC instants those clinic days begin/end ('YYYY-MM-DD HH:MM:SS', see withClinicDays); UTC days when absent. */
  apptBeforeUtc?: string;
  apptAfterUtc?: string;
  /** A BCP 47 tag, or "none" (not known): onboarding-language.ts. */
  language?: string;
  /** A colour, or "orange-expired" / "orange-failed" (invite problems). */
  status?: StatusChoice;
  /** Activation (issue 17): a worklist view, a funnel stage, the month of the first invite (YYYY-MM). */
  worklist?: WorklistView;
  funnel?: FunnelStage;
  invitedMonth?: string;
  /** Has an active authorised representative (issue 16). */
  representative?: 'yes' | 'no';
  /** The "Turned 18 — invite to their own account" worklist. */
  turned18?: 'yes';
  /** The clinic's today (YYYY-MM-DD, see withClinicDays) for the representative filters; the UTC day when absent. */
  clinicToday?: string;
}

export const ONBOARDING_SORTS = ['name', 'dob', 'next'] as const;
export type OnboardingSort = (typeof ONBOARDING_SORTS)[number];
export const ONBOARDING_PAGE_SIZES = [25, 50, 100] as const;
export const DEFAULT_PAGE_SIZE = 50;

export interface SqlFragment {
  sql: string;
  params: unknown[];
}

export function nextDay(isoDate: string): string {
  return new Date(Date.parse(`${isoDate}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
}

/**
 * What the search box matches, as alternatives that each read one index (PERF-NOTES: one
 * range per branch; the count is their UNION). What the caller says decides the kind:
 * an address (has "@") → email prefix; a date (MM/DD/YYYY or YYYY-MM-DD) → date of birth;
 * something with digits → MRN (external id) prefix, and, when it is only a phone number's
 * characters, phone digits prefix (and a name, as below); anything else → a name ("Last, First", or the start of
 * the last or the first name).
 */
export function searchBranches(q: string): SqlFragment[] {
  const term = q.trim();
  if (term.includes('@')) return [{ sql: `p.email ${LIKE}`, params: [likePrefix(term)] }];
  const date = parseClinicDate(term);
  if (date.ok) return [{ sql: 'p.date_of_birth = ?', params: [date.iso] }];
  const names = nameBranches(term);
  if (/\d/.test(term)) {
    const branches: SqlFragment[] = [];
    if (/^[A-Za-z0-9_.\-/]+$/.test(term)) branches.push({ sql: `p.external_id ${LIKE}`, params: [likePrefix(term)] });
    const digits = term.replace(/\D/g, '');
    if (/^[\d\s().+\-/]+$/.test(term) && digits.length >= 3)
      branches.push({ sql: `p.phone_digits ${LIKE}`, params: [likePrefix(digits)] });
    // A name may hold digits too ("50% Off" imported as a name): still matched.
    return [...branches, ...names];
  }
  return names;
}

function nameBranches(term: string): SqlFragment[] {
  const comma = term.indexOf(',');
  if (comma >= 0) {
    const last = term.slice(0, comma).trim();
    const first = term.slice(comma + 1).trim();
    const parts: SqlFragment[] = [];
    if (last) parts.push({ sql: `p.last_name ${LIKE}`, params: [likePrefix(last)] });
    if (first) parts.push({ sql: `p.first_name ${LIKE}`, params: [likePrefix(first)] });
    if (parts.length) return [{ sql: `(${parts.map((p) => p.sql).join(' AND ')})`, params: parts.flatMap((p) => p.params) }];
  }
  const pattern = likePrefix(term);
  // Two prefix ranges (ix_patients_name, ix_patients_first_name).
  return [
    { sql: `p.last_name ${LIKE}`, params: [pattern] },
    { sql: `p.first_name ${LIKE}`, params: [pattern] },
  ];
}

function searchCondition(q: string): SqlFragment {
  const branches = searchBranches(q);
  if (branches.length === 1) return branches[0];
  return { sql: `(${branches.map((b) => b.sql).join(' OR ')})`, params: branches.flatMap((b) => b.params) };
}

/** The filter with its appointment days turned into UTC bounds: "after day D" starts when day D+1 begins in the clinic. */
export function withClinicDays(filter: OnboardingFilter, clock: ClinicClock): OnboardingFilter {
  return {
    ...filter,
    apptBeforeUtc: filter.apptBefore ? toSqlDateTime(clock.startOfDay(filter.apptBefore)) : undefined,
    apptAfterUtc: filter.apptAfter ? toSqlDateTime(clock.startOfDay(nextDay(filter.apptAfter))) : undefined,
    clinicToday: filter.representative ? clock.dayOf(new Date()) : undefined,
  };
}

/**
 * FROM and WHERE for a filter. Only the tables the filter needs are read: account-only
 * filters count on portal_accounts, patient-only filters on patients (the 1:1 account
 * row always exists, so both give the joined count). `withPatients` forces the patients
 * table (the page query sorts on its columns).
 */
export function filterSql(
  filter: OnboardingFilter,
  withPatients = false,
  patientIndex: string | null = null,
): { from: string; where: SqlFragment; idColumn: string; patientColumnsFiltered: boolean } {
  const patientParts: SqlFragment[] = [];
  const accountParts: SqlFragment[] = [];
  if (filter.q) patientParts.push(searchCondition(filter.q));
  if (filter.providerId) patientParts.push({ sql: 'p.primary_provider_id = ?', params: [filter.providerId] });
  if (filter.language) patientParts.push(languageCondition(filter.language));
  if (filter.apptBefore)
    patientParts.push({ sql: 'p.next_appointment_at < ?', params: [filter.apptBeforeUtc ?? `${filter.apptBefore} 00:00:00`] });
  if (filter.apptAfter)
    patientParts.push({
      sql: 'p.next_appointment_at >= ?',
      params: [filter.apptAfterUtc ?? `${nextDay(filter.apptAfter)} 00:00:00`],
    });
  patientParts.push(...representativeFilterSql(filter, filter.clinicToday ?? new Date().toISOString().slice(0, 10)));
  if (filter.access) accountParts.push({ sql: `pa.access_enabled = ${filter.access === 'yes' ? 1 : 0}`, params: [] });
  if (filter.username) accountParts.push({ sql: `pa.username IS ${filter.username === 'yes' ? 'NOT ' : ''}NULL`, params: [] });
  // "Expired" is relative to the moment the page is read, so the condition binds now.
  if (filter.status?.startsWith('orange-'))
    accountParts.push(
      inviteProblemConditionSql(filter.status.slice('orange-'.length) as InviteProblem, toSqlDateTime(new Date()), 'pa'),
    );
  else if (filter.status) accountParts.push({ sql: portalStatusConditionSql(filter.status as PortalStatus, 'pa'), params: [] });
  // Activation filters read both tables (activation-filters.ts).
  const bothParts = activationParts(filter);

  if (!withPatients && filter.tagId && patientParts.length === 0 && accountParts.length === 0 && bothParts.length === 0) {
    // A tag alone is counted on its index of patient_tags.
    return {
      from: 'patient_tags pt',
      where: { sql: 'pt.tag_id = ?', params: [filter.tagId] },
      idColumn: 'pt.patient_id',
      patientColumnsFiltered: false,
    };
  }
  const usePatients = withPatients || patientParts.length > 0 || accountParts.length === 0 || bothParts.length > 0;
  const from = usePatients
    ? `patients p${patientIndex ? ` FORCE INDEX (${patientIndex})` : ''}${accountParts.length || bothParts.length ? ' JOIN portal_accounts pa ON pa.patient_id = p.id' : ''}`
    : 'portal_accounts pa';
  const idColumn = usePatients ? 'p.id' : 'pa.patient_id';
  const parts = [...patientParts, ...accountParts, ...bothParts];
  if (filter.tagId)
    parts.push({
      sql: `EXISTS (SELECT 1 FROM patient_tags pt WHERE pt.patient_id = ${idColumn} AND pt.tag_id = ?)`,
      params: [filter.tagId],
    });
  return { from, where: joinAnd(parts), idColumn, patientColumnsFiltered: patientParts.length > 0 };
}

function activationParts(filter: OnboardingFilter): SqlFragment[] {
  const parts: SqlFragment[] = [];
  if (filter.worklist) parts.push(worklistConditionSql(filter.worklist, new Date()));
  if (filter.funnel) parts.push({ sql: funnelConditionSql(filter.funnel), params: [] });
  if (filter.invitedMonth) parts.push(firstInviteMonthSql(filter.invitedMonth));
  return parts;
}

/**
 * The pager's count. A search with alternatives (e.g. "last OR first name starts with") is
 * counted as a UNION of the covering index ranges (PERF-NOTES): MariaDB otherwise merges
 * the indexes and reads every matching row (bench, 100k: ~9 ms vs ~1.5 ms).
 */
export function countSql(filter: OnboardingFilter): SqlFragment {
  const branches = filter.q ? searchBranches(filter.q) : [];
  if (branches.length > 1) {
    const rest = filterSql({ ...filter, q: undefined }, true);
    const branch = (b: SqlFragment) => `SELECT p.id FROM ${rest.from} WHERE ${rest.where.sql} AND ${b.sql}`;
    return {
      sql: `SELECT COUNT(*) AS total FROM (${branches.map(branch).join(' UNION ')}) named`,
      params: branches.flatMap((b) => [...rest.where.params, ...b.params]),
    };
  }
  const { from, where } = filterSql(filter);
  return { sql: `SELECT COUNT(*) AS total FROM ${from} WHERE ${where.sql}`, params: where.params };
}

export function joinAnd(parts: SqlFragment[]): SqlFragment {
  if (parts.length === 0) return { sql: '1 = 1', params: [] };
  return { sql: parts.map((p) => p.sql).join(' AND '), params: parts.flatMap((p) => p.params) };
}

/** Kinds of sort-key values, checked when a cursor comes back from the browser. */
type KeyKind = 'text' | 'date' | 'datetime' | 'id';
export interface SortColumn {
  sql: string;
  /** Column name in the id query's result. */
  alias: string;
  kind: KeyKind;
}
/** A run of rows ordered by its columns; a sort is one or more segments in sequence. */
export interface SortSegment {
  condition: string | null;
  /** The patients index that returns this segment in order (MySQL/MariaDB plan pinning). */
  index: string;
  columns: SortColumn[];
}

const ID: SortColumn = { sql: 'p.id', alias: 'id', kind: 'id' };
/** Each sort ends in p.id so the order is total and a keyset never skips or repeats a row. */
export const SORT_PLANS: Record<OnboardingSort, SortSegment[]> = {
  name: [
    {
      condition: null,
      index: 'ix_patients_name',
      columns: [
        { sql: 'p.last_name', alias: 'last_name', kind: 'text' },
        { sql: 'p.first_name', alias: 'first_name', kind: 'text' },
        ID,
      ],
    },
  ],
  dob: [
    {
      condition: null,
      index: 'ix_patients_dob',
      columns: [{ sql: 'p.date_of_birth', alias: 'date_of_birth', kind: 'date' }, ID],
    },
  ],
  // Patients without an upcoming appointment come last: a second segment, so each part stays an index range.
  next: [
    {
      condition: 'p.next_appointment_at IS NOT NULL',
      index: 'ix_patients_next_appt',
      columns: [{ sql: 'p.next_appointment_at', alias: 'next_appointment_at', kind: 'datetime' }, ID],
    },
    { condition: 'p.next_appointment_at IS NULL', index: 'ix_patients_next_appt', columns: [ID] },
  ],
};

/** `c1 > ? OR (c1 = ? AND (c2 > ? OR (c2 = ? AND c3 > ?)))` — the nested form MariaDB range-scans. */
export function keysetCondition(columns: SortColumn[], values: unknown[], direction: 'after' | 'before'): SqlFragment {
  const op = direction === 'after' ? '>' : '<';
  const build = (i: number): SqlFragment => {
    const column = columns[i].sql;
    if (i === columns.length - 1) return { sql: `${column} ${op} ?`, params: [values[i]] };
    const rest = build(i + 1);
    return { sql: `(${column} ${op} ? OR (${column} = ? AND ${rest.sql}))`, params: [values[i], values[i], ...rest.params] };
  };
  return build(0);
}

export interface Cursor {
  segment: number;
  values: (string | number)[];
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.segment, ...cursor.values]), 'utf8').toString('base64url');
}

const KEY_CHECKS: Record<KeyKind, (value: unknown) => boolean> = {
  text: (v) => typeof v === 'string' && v.length <= 100,
  date: (v) => typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v),
  datetime: (v) => typeof v === 'string' && /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(v),
  id: (v) => Number.isSafeInteger(v) && (v as number) > 0,
};

/** A cursor from the query string; anything that is not one this sort could have produced is a 400. */
export function decodeCursor(raw: string, sort: OnboardingSort): Cursor {
  const invalid = () => new BadRequestException(message('staff:refusal.pageLinkSort'));
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(parsed) || parsed.length < 2) throw invalid();
  const [segment, ...values] = parsed as unknown[];
  const plan = SORT_PLANS[sort];
  if (typeof segment !== 'number' || !Number.isInteger(segment) || segment < 0 || segment >= plan.length) throw invalid();
  const columns = plan[segment].columns;
  if (values.length !== columns.length || !columns.every((column, i) => KEY_CHECKS[column.kind](values[i]))) throw invalid();
  return { segment, values: values as (string | number)[] };
}

/** Query-string pairs of a filter, under the form's field names (links, hidden fields). */
export function filterParams(filter: OnboardingFilter): [string, string][] {
  const pairs: [string, string | number | undefined][] = [
    ['q', filter.q],
    ['tag', filter.tagId],
    ['provider', filter.providerId],
    ['access', filter.access],
    ['username', filter.username],
    ['language', filter.language],
    ['apptBefore', filter.apptBefore],
    ['apptAfter', filter.apptAfter],
    ['status', filter.status],
    ['worklist', filter.worklist],
    ['funnel', filter.funnel],
    ['invitedMonth', filter.invitedMonth],
    ['representative', filter.representative],
    ['turned18', filter.turned18],
  ];
  return pairs
    .filter((pair): pair is [string, string | number] => pair[1] !== undefined && pair[1] !== '')
    .map(([k, v]) => [k, String(v)]);
}

export function queryString(pairs: [string, string][]): string {
  return new URLSearchParams(pairs).toString();
}
