import type { BenchConnection as PoolConnection, BenchDb as Pool } from './bench-db';
import { encodeCursor, filterParams, queryString, type OnboardingFilter } from '../src/portal-access/onboarding-filter';
import { likePrefix } from '../src/database/sql';
import { portalStatusConditionSql, type PortalStatus } from '../src/portal-access/portal-status';

export const PAGE_SIZE = 50;
/** How deep "deep" is: the page after ~1,000 pages of 50 (or the last page of a smaller result). */
export const DEEP_PAGES = 1000;

export interface PageCase {
  name: string;
  filter: OnboardingFilter;
}

const day = (offsetDays: number) => new Date(Date.now() + offsetDays * 86_400_000).toISOString().slice(0, 10);

/** No filter, every single filter, three combinations (tag/provider ids are looked up by name). */
export function pageCases(tagId: number, providerId: number): PageCase[] {
  return [
    { name: 'no filter', filter: {} },
    { name: 'name "Mar"', filter: { q: 'Mar' } },
    { name: 'tag', filter: { tagId } },
    { name: 'provider', filter: { providerId } },
    { name: 'access yes', filter: { access: 'yes' } },
    { name: 'access no', filter: { access: 'no' } },
    { name: 'username yes', filter: { username: 'yes' } },
    { name: 'username no', filter: { username: 'no' } },
    { name: 'appt before +14d', filter: { apptBefore: day(14) } },
    { name: 'appt after +30d', filter: { apptAfter: day(30) } },
    { name: 'status red', filter: { status: 'red' } },
    { name: 'status gray', filter: { status: 'gray' } },
    { name: 'status orange', filter: { status: 'orange' } },
    { name: 'status green', filter: { status: 'green' } },
    { name: 'red + provider + tag', filter: { status: 'red', providerId, tagId } },
    { name: 'name "Mar" + access yes', filter: { q: 'Mar', access: 'yes' } },
    { name: 'no username + appt after + tag', filter: { username: 'no', apptAfter: day(30), tagId } },
  ];
}

export function pageUrl(baseUrl: string, filter: OnboardingFilter, after: string | null): string {
  const pairs = filterParams(filter);
  if (after) pairs.push(['after', after]);
  const query = queryString(pairs);
  return `${baseUrl}/portal-onboarding${query ? `?${query}` : ''}`;
}

// ---------------------------------------------------------------------------------
// The bench's own raw SQL for the same result (ids of the page, its 50 rows, the count),
// written from ../shared/PERF-NOTES.md. Each query has candidate plans; the fastest one
// that returns the same answer is kept per case (calibrate), so "raw" is the best found.
// ---------------------------------------------------------------------------------

interface Sql {
  sql: string;
  params: unknown[];
}
type Key = { id: number; last_name: string; first_name: string };

const and = (parts: Sql[]): Sql => ({
  sql: parts.length ? parts.map((p) => p.sql).join(' AND ') : '1 = 1',
  params: parts.flatMap((p) => p.params),
});
const nextDay = (iso: string) => new Date(Date.parse(`${iso}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

function conditions(filter: OnboardingFilter, nameField: 'both' | 'last' | 'first' = 'both') {
  const patient: Sql[] = [];
  const account: Sql[] = [];
  if (filter.q) {
    const like = likePrefix(filter.q);
    if (nameField === 'both')
      patient.push({ sql: `(p.last_name LIKE ? ESCAPE '!' OR p.first_name LIKE ? ESCAPE '!')`, params: [like, like] });
    else patient.push({ sql: `p.${nameField}_name LIKE ? ESCAPE '!'`, params: [like] });
  }
  if (filter.providerId) patient.push({ sql: 'p.primary_provider_id = ?', params: [filter.providerId] });
  if (filter.apptBefore) patient.push({ sql: 'p.next_appointment_at < ?', params: [`${filter.apptBefore} 00:00:00`] });
  if (filter.apptAfter) patient.push({ sql: 'p.next_appointment_at >= ?', params: [`${nextDay(filter.apptAfter)} 00:00:00`] });
  if (filter.access) account.push({ sql: `pa.access_enabled = ${filter.access === 'yes' ? 1 : 0}`, params: [] });
  if (filter.username) account.push({ sql: `pa.username IS ${filter.username === 'yes' ? 'NOT ' : ''}NULL`, params: [] });
  // The bench's cases filter by colour only (not by the invite problems "orange-expired"/"orange-failed").
  if (filter.status) account.push({ sql: portalStatusConditionSql(filter.status as PortalStatus, 'pa'), params: [] });
  const tag: Sql[] = filter.tagId
    ? [{ sql: 'EXISTS (SELECT 1 FROM patient_tags pt WHERE pt.patient_id = p.id AND pt.tag_id = ?)', params: [filter.tagId] }]
    : [];
  return {
    patient,
    account,
    tag,
    all: and([...patient, ...account, ...tag]),
    join: account.length ? ' JOIN portal_accounts pa ON pa.patient_id = p.id' : '',
  };
}

function keyset(after: Key | null): Sql[] {
  if (!after) return [];
  return [
    {
      sql: '(p.last_name > ? OR (p.last_name = ? AND (p.first_name > ? OR (p.first_name = ? AND p.id > ?))))',
      params: [after.last_name, after.last_name, after.first_name, after.first_name, after.id],
    },
  ];
}

const ORDER = 'ORDER BY p.last_name, p.first_name, p.id';

/** Candidate plans for the 51 keys of a page (50 + one to know there is a next page). */
function idsPlans(filter: OnboardingFilter, after: Key | null): Record<string, Sql> {
  const c = conditions(filter);
  const where = and([c.all, ...keyset(after)]);
  const select = 'p.id, p.last_name, p.first_name';
  const plans: Record<string, Sql> = {
    optimizer: {
      sql: `SELECT ${select} FROM patients p${c.join} WHERE ${where.sql} ${ORDER} LIMIT ${PAGE_SIZE + 1}`,
      params: where.params,
    },
    'walk name index': {
      sql: `SELECT STRAIGHT_JOIN ${select} FROM patients p FORCE INDEX (ix_patients_name)${c.join} WHERE ${where.sql} ${ORDER} LIMIT ${PAGE_SIZE + 1}`,
      params: where.params,
    },
  };
  if (filter.providerId) {
    plans['provider index'] = {
      sql: `SELECT STRAIGHT_JOIN ${select} FROM patients p FORCE INDEX (ix_patients_provider_name)${c.join} WHERE ${where.sql} ${ORDER} LIMIT ${PAGE_SIZE + 1}`,
      params: where.params,
    };
  }
  if (filter.q) {
    const branch = (field: 'last' | 'first', index: string) => {
      const b = conditions(filter, field);
      const w = and([b.all, ...keyset(after)]);
      return {
        sql: `(SELECT ${select} FROM patients p FORCE INDEX (${index})${b.join} WHERE ${w.sql} ${ORDER} LIMIT ${PAGE_SIZE + 1})`,
        params: w.params,
      };
    };
    const last = branch('last', 'ix_patients_name');
    const first = branch('first', 'ix_patients_first_name');
    plans['union of name ranges'] = {
      sql: `SELECT u.id, u.last_name, u.first_name FROM (${last.sql} UNION ${first.sql}) u ORDER BY u.last_name, u.first_name, u.id LIMIT ${PAGE_SIZE + 1}`,
      params: [...last.params, ...first.params],
    };
  }
  return plans;
}

/** Candidate plans for the pager's count: on the narrowest table that answers it. */
function countPlans(filter: OnboardingFilter): Record<string, Sql> {
  const c = conditions(filter);
  const plans: Record<string, Sql> = {
    joined: { sql: `SELECT COUNT(*) AS n FROM patients p${c.join} WHERE ${c.all.sql}`, params: c.all.params },
  };
  if (c.patient.length === 0 && c.tag.length === 0 && c.account.length > 0) {
    const w = and(c.account);
    plans['accounts only'] = { sql: `SELECT COUNT(*) AS n FROM portal_accounts pa WHERE ${w.sql}`, params: w.params };
  }
  if (c.patient.length === 0 && c.account.length === 0 && filter.tagId) {
    plans['patient_tags only'] = { sql: 'SELECT COUNT(*) AS n FROM patient_tags WHERE tag_id = ?', params: [filter.tagId] };
  }
  if (filter.q) {
    const branch = (field: 'last' | 'first') => {
      const b = conditions(filter, field);
      return { sql: `SELECT p.id FROM patients p${b.join} WHERE ${b.all.sql}`, params: b.all.params };
    };
    const last = branch('last');
    const first = branch('first');
    plans['union of name ranges'] = {
      sql: `SELECT COUNT(*) AS n FROM (${last.sql} UNION ${first.sql}) u`,
      params: [...last.params, ...first.params],
    };
  }
  return plans;
}

/** The 50 rows as the table shows them: patient, account, provider and the latest invite's delivery state. */
function rowsSql(ids: number[]): Sql {
  return {
    sql: `SELECT p.id, p.first_name, p.last_name, p.date_of_birth, p.email, p.next_appointment_at,
                 pa.access_enabled, pa.username, pa.invited_at, pa.first_login_at, pr.name AS provider_name,
                 o.kind, o.status AS delivery, o.created_at AS queued_at, o.sent_at, t.expires_at
            FROM patients p
            JOIN portal_accounts pa ON pa.patient_id = p.id
            LEFT JOIN providers pr ON pr.id = p.primary_provider_id
            LEFT JOIN mail_outbox o ON o.id = (SELECT MAX(m.id) FROM mail_outbox m WHERE m.patient_id = p.id AND m.kind IN ('portal_invite', 'portal_reset'))
            LEFT JOIN portal_tokens t ON t.id = o.portal_token_id
           WHERE p.id IN (${ids.map(() => '?').join(', ')})`,
    params: ids,
  };
}

export interface RawPlan {
  ids: Sql;
  count: Sql;
  /** Names of the chosen plans, for RESULTS.md. */
  label: string;
  matches: number;
  firstIds: number[];
}

async function median(conn: PoolConnection, q: Sql, runs = 5): Promise<{ ms: number; rows: unknown[] }> {
  const times: number[] = [];
  let rows: unknown[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    [rows] = (await conn.query(q.sql, q.params)) as [unknown[], unknown];
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return { ms: times[Math.floor(runs / 2)], rows };
}

/** A candidate this database cannot run (SQLite: no parenthesised UNION branches, no usable forced index) is no candidate. */
async function tryPlan(conn: PoolConnection, q: Sql): Promise<{ ms: number; rows: unknown[] } | null> {
  try {
    return await median(conn, q);
  } catch (error) {
    if (/syntax error|no query solution|no such index/.test((error as Error).message)) return null;
    throw error;
  }
}

/** Runs every candidate, checks they agree, keeps the fastest of each. */
export async function calibrate(pool: Pool, filter: OnboardingFilter, after: Key | null): Promise<RawPlan> {
  const conn = await pool.getConnection();
  try {
    let best: { name: string; ms: number; sql: Sql; ids: number[] } | null = null;
    for (const [name, sql] of Object.entries(idsPlans(filter, after))) {
      const run = await tryPlan(conn, sql);
      if (!run) continue;
      const { ms, rows } = run;
      const ids = (rows as Key[]).map((r) => Number(r.id));
      if (best && ids.join() !== best.ids.join())
        throw new Error(`raw plans disagree for ${JSON.stringify(filter)}: ${name} vs ${best.name}`);
      if (!best || ms < best.ms) best = { name, ms, sql, ids };
    }
    let bestCount: { name: string; ms: number; sql: Sql; n: number } | null = null;
    for (const [name, sql] of Object.entries(countPlans(filter))) {
      const run = await tryPlan(conn, sql);
      if (!run) continue;
      const { ms, rows } = run;
      const n = Number((rows as { n: number }[])[0].n);
      if (bestCount && n !== bestCount.n)
        throw new Error(`raw counts disagree for ${JSON.stringify(filter)}: ${name} ${n} vs ${bestCount.name} ${bestCount.n}`);
      if (!bestCount || ms < bestCount.ms) bestCount = { name, ms, sql, n };
    }
    return {
      ids: best!.sql,
      count: bestCount!.sql,
      label: `${best!.name}; count ${bestCount!.name}`,
      matches: bestCount!.n,
      firstIds: best!.ids.slice(0, PAGE_SIZE),
    };
  } finally {
    conn.release();
  }
}

/** One page as raw SQL on one connection: count, the page's keys, its 50 rows. */
export async function rawPage(conn: PoolConnection, plan: RawPlan): Promise<void> {
  await conn.query(plan.count.sql, plan.count.params);
  const [keys] = (await conn.query(plan.ids.sql, plan.ids.params)) as [Key[], unknown];
  const ids = keys.slice(0, PAGE_SIZE).map((k) => Number(k.id));
  if (ids.length) await conn.query(rowsSql(ids).sql, rowsSql(ids).params);
}

/**
 * The last row before the deep page: ~DEEP_PAGES pages in (fewer when the result is
 * smaller). Its keys are the cursor the app's "Next" link carries from the page before,
 * so the app and raw SQL both start the deep page from it.
 */
export async function deepStart(
  pool: Pool,
  filter: OnboardingFilter,
  matches: number,
): Promise<{ pages: number; key: Key; cursor: string } | null> {
  const pages = Math.min(Number(process.env.BENCH_DEEP_PAGES ?? DEEP_PAGES), Math.floor((matches - 1) / PAGE_SIZE));
  if (pages < 1) return null;
  const c = conditions(filter);
  const [rows] = (await pool.query(
    `SELECT p.id, p.last_name, p.first_name FROM patients p${c.join} WHERE ${c.all.sql} ${ORDER} LIMIT 1 OFFSET ${pages * PAGE_SIZE - 1}`,
    c.all.params,
  )) as [Key[], unknown];
  const key = { ...rows[0], id: Number(rows[0].id) };
  return { pages, key, cursor: encodeCursor({ segment: 0, values: [key.last_name, key.first_name, key.id] }) };
}
