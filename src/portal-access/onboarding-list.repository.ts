import { BadRequestException, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { fromSqlDate, fromSqlDateTime, isSqliteManager, placeholders, toSqlDateTime } from '../database/sql';
import {
  countSql,
  DEFAULT_PAGE_SIZE,
  decodeCursor,
  encodeCursor,
  filterSql,
  joinAnd,
  keysetCondition,
  SORT_PLANS,
  type Cursor,
  type OnboardingFilter,
  type OnboardingSort,
  type SqlFragment,
} from './onboarding-filter';
import { inviteProblemFieldsSql } from './portal-status';
import { message } from '../i18n/messages';

export interface OnboardingPageRequest {
  filter: OnboardingFilter;
  sort?: OnboardingSort;
  size?: number;
  after?: string;
  before?: string;
  /** Page number: a jump ("Go to page", First, Last) without a cursor, or the label of a cursor's page. */
  page?: number;
}

/** Where a page sits and where the pager links go. */
export interface OnboardingPager {
  sort: OnboardingSort;
  size: number;
  /** "Page 3 of 57": pages at this size, and this page's number (null when a bookmark's cursor did not say). */
  pages: number;
  pageNumber: number | null;
  /** Cursors for the pager links; null when there is no such page. */
  next: string | null;
  previous: string | null;
}

/** One page's records in order, with its pager (the count is the caller's: it may be cached). */
export interface OnboardingListPage<T = void> extends OnboardingPager {
  records: OnboardingRecord[];
  /** What the caller's `alongside` work returned. */
  alongside: T;
}

export type FilterOptions = { tags: { id: number; name: string }[]; providers: { id: number; name: string }[] };

const INVITE_PROBLEM_FIELDS = inviteProblemFieldsSql('pa');

/** Below this many matches the filter's own index is the faster driver (a short sort). */
const PIN_WHEN_MATCHING_AT_LEAST = 2000;

interface KeyRow {
  id: number;
  [column: string]: unknown;
}

/**
 * The onboarding list's SQL, one read API: a page (keyset, or a jump to page N) and `walk`,
 * the same keyset walk carried to the end (the CSV export). Filters become SQL in
 * onboarding-filter.ts (filterSql/countSql); this file only runs them.
 */
@Injectable()
export class OnboardingListRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * One page of records for a filter that matches `total` rows. `alongside` runs on another
   * pooled connection while the records are read (the page's ids known): its latest invites, the audit row.
   */
  async page<T>(
    request: OnboardingPageRequest,
    total: number,
    alongside: (ids: number[]) => Promise<T>,
  ): Promise<OnboardingListPage<T>> {
    const sort = request.sort ?? 'name';
    const size = request.size ?? DEFAULT_PAGE_SIZE;
    const pages = Math.max(1, Math.ceil(total / size));

    // Where the page starts: a keyset cursor (next/previous), a page number (a jump), or the start.
    let direction: 'after' | 'before' = request.before ? 'before' : 'after';
    let cursor = request.before ? decodeCursor(request.before, sort) : request.after ? decodeCursor(request.after, sort) : null;
    let pageNumber: number | null = cursor ? (request.page ?? null) : 1;
    let limit = size + 1;
    const jump = !cursor && request.page !== undefined && request.page > 1 ? Math.min(request.page, pages) : null;
    if (jump !== null && jump === pages) {
      // The last page read backwards from the end of the sort order: no counting through the list.
      direction = 'before';
      limit = total - (pages - 1) * size;
      pageNumber = pages;
    } else if (jump !== null) {
      cursor = await this.cursorAtOffset(request.filter, sort, (jump - 1) * size, total);
      pageNumber = jump;
    }

    const keys = await this.pageKeys(request.filter, sort, limit, direction, cursor, total);
    const more = jump === pages ? pages > 1 : keys.length > size;
    if (more && jump !== pages) keys.pop();
    if (direction === 'before') keys.reverse();

    const ids = keys.map((key) => key.id);
    const [records, extra] = await Promise.all([this.records(ids), alongside(ids)]);
    const first = keys[0];
    const last = keys[keys.length - 1];
    const hasPrevious = direction === 'before' ? more : cursor !== null;
    const hasNext = direction === 'after' ? more : cursor !== null;
    return {
      records,
      alongside: extra,
      sort,
      size,
      pages,
      // A page number shown with a cursor is the one its link carried (a bookmark without it: unknown).
      pageNumber: pageNumber !== null && pageNumber <= pages ? pageNumber : null,
      next: hasNext && last ? encodeCursor(this.cursorOf(sort, last)) : null,
      previous: hasPrevious && first ? encodeCursor(this.cursorOf(sort, first)) : null,
    };
  }

  /**
   * Every matching record in the page's order, `batch` at a time: the page's own keyset walk
   * (pageKeys, cursorOf) carried to the end; the CSV export reads the list through it.
   */
  async *walk(filter: OnboardingFilter, sort: OnboardingSort, batch = 1000): AsyncGenerator<OnboardingRecord[]> {
    let cursor: Cursor | null = null;
    for (;;) {
      const keys = await this.pageKeys(filter, sort, batch, 'after', cursor, 0);
      if (keys.length === 0) return;
      yield await this.records(keys.map((key) => key.id));
      if (keys.length < batch) return;
      cursor = this.cursorOf(sort, keys[keys.length - 1]);
    }
  }

  /** The records for these patient ids, in the given order (unknown ids are left out). */
  async records(ids: number[]): Promise<OnboardingRecord[]> {
    if (ids.length === 0) return [];
    const records: OnboardingRecord[] = await this.dataSource.query(
      `SELECT p.id, p.external_id, p.first_name, p.last_name, p.date_of_birth, p.email, p.next_appointment_at, p.deceased,
              p.preferred_language, pa.access_enabled, pa.username, pa.invited_at, pa.first_login_at, pa.bounced_email, pr.name AS provider_name,
              ${INVITE_PROBLEM_FIELDS.columns}
         FROM patients p
         JOIN portal_accounts pa ON pa.patient_id = p.id
         LEFT JOIN providers pr ON pr.id = p.primary_provider_id
         ${INVITE_PROBLEM_FIELDS.join}
        WHERE p.id IN (${placeholders(ids.length)})`,
      ids,
    );
    const byId = new Map(records.map((record) => [Number(record.id), record]));
    return ids.map((id) => byId.get(id)).filter((record): record is OnboardingRecord => record !== undefined);
  }

  /** The filter form's tag and provider lists. */
  async filterOptions(): Promise<FilterOptions> {
    const [tags, providers] = await Promise.all([
      this.dataSource.query('SELECT id, name FROM tags ORDER BY name'),
      this.dataSource.query('SELECT id, name FROM providers ORDER BY name'),
    ]);
    return { tags, providers };
  }

  private async cursorAtOffset(
    filter: OnboardingFilter,
    sort: OnboardingSort,
    offset: number,
    matching: number,
  ): Promise<Cursor | null> {
    const plan = SORT_PLANS[sort];
    const pin = this.pinSortIndex(filter, matching);
    let remaining = offset;
    for (let s = 0; s < plan.length; s++) {
      const segment = plan[s];
      const { from, where } = filterSql(filter, true, pin ? segment.index : null);
      const condition = joinAnd(segment.condition ? [where, { sql: segment.condition, params: [] }] : [where]);
      if (plan.length > 1) {
        const [{ n }] = await this.dataSource.query(`SELECT COUNT(*) AS n FROM ${from} WHERE ${condition.sql}`, condition.params);
        if (remaining >= Number(n)) {
          remaining -= Number(n);
          continue;
        }
      }
      // The page starts a segment: the cursor is the previous segment's last row.
      if (remaining === 0) return s === 0 ? null : this.lastKeyOf(filter, sort, s - 1, pin);
      const order = segment.columns.map((column) => `${column.sql} ASC`).join(', ');
      const select = segment.columns.map((column) => `${column.sql} AS ${column.alias}`).join(', ');
      const [key]: KeyRow[] = await this.dataSource.query(
        `SELECT ${pin ? 'STRAIGHT_JOIN ' : ''}${select} FROM ${from} WHERE ${condition.sql} ORDER BY ${order} LIMIT 1 OFFSET ${Number(remaining - 1)}`,
        condition.params,
      );
      return key ? this.cursorOf(sort, { ...key, id: Number(key.id), segment: s }) : null;
    }
    return null;
  }

  private async lastKeyOf(filter: OnboardingFilter, sort: OnboardingSort, s: number, pin: boolean): Promise<Cursor | null> {
    const segment = SORT_PLANS[sort][s];
    const { from, where } = filterSql(filter, true, pin ? segment.index : null);
    const condition = joinAnd(segment.condition ? [where, { sql: segment.condition, params: [] }] : [where]);
    const order = segment.columns.map((column) => `${column.sql} DESC`).join(', ');
    const select = segment.columns.map((column) => `${column.sql} AS ${column.alias}`).join(', ');
    const [key]: KeyRow[] = await this.dataSource.query(
      `SELECT ${select} FROM ${from} WHERE ${condition.sql} ORDER BY ${order} LIMIT 1`,
      condition.params,
    );
    return key ? this.cursorOf(sort, { ...key, id: Number(key.id), segment: s }) : null;
  }

  /** The list's generation: moved by triggers in every transaction that changes what a count reads (migration 1766600000000). */
  async generation(): Promise<number> {
    const [row] = await this.dataSource.query('SELECT generation FROM onboarding_list_generation WHERE id = 1');
    return Number(row?.generation ?? 0);
  }

  async count(filter: OnboardingFilter): Promise<number> {
    const { sql, params } = countSql(filter);
    const [{ total }] = await this.dataSource.query(sql, params);
    return Number(total);
  }

  /** Every patient id matching the filter (a bulk action over "all N matching"). */
  async matchingIds(filter: OnboardingFilter, manager: EntityManager = this.dataSource.manager): Promise<number[]> {
    await this.assertFilterReferences(filter, manager);
    const { from, where, idColumn } = filterSql(filter);
    const rows: { id: number | string }[] = await manager.query(
      `SELECT ${idColumn} AS id FROM ${from} WHERE ${where.sql} ORDER BY ${idColumn}`,
      where.params,
    );
    return rows.map((row) => Number(row.id));
  }

  /** Which of a tag and a provider id do not exist (the page leaves them out with a message). */
  async missingReferences(tagId: number | undefined, providerId: number | undefined): Promise<('tag' | 'provider')[]> {
    const missing: ('tag' | 'provider')[] = [];
    if (tagId !== undefined && (await this.dataSource.query('SELECT id FROM tags WHERE id = ?', [tagId])).length === 0)
      missing.push('tag');
    if (
      providerId !== undefined &&
      (await this.dataSource.query('SELECT id FROM providers WHERE id = ?', [providerId])).length === 0
    )
      missing.push('provider');
    return missing;
  }

  /** A tag or provider id that is not in the lists was typed or tampered with: say so instead of acting on nobody. */
  private async assertFilterReferences(
    filter: OnboardingFilter,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<void> {
    const checks: [string, number | undefined, string][] = [
      ['tags', filter.tagId, message('staff:refusal.noSuchTag')],
      ['providers', filter.providerId, message('staff:refusal.noSuchProvider')],
    ];
    for (const [table, id, message] of checks) {
      if (id === undefined) continue;
      const found = await manager.query(`SELECT id FROM ${table} WHERE id = ?`, [id]);
      if (found.length === 0) throw new BadRequestException(message);
    }
  }

  /**
   * Ids of one page first (a narrow index walk), the rest of the row only for those
   * (PERF-NOTES: "find the 50 ids first, then join"). Segments are read in order until
   * the page is full.
   */
  private async pageKeys(
    filter: OnboardingFilter,
    sort: OnboardingSort,
    limit: number,
    direction: 'after' | 'before',
    cursor: Cursor | null,
    matching: number,
  ): Promise<KeyRow[]> {
    const plan = SORT_PLANS[sort];
    const pin = this.pinSortIndex(filter, matching);
    const keys: KeyRow[] = [];
    const start = cursor?.segment ?? (direction === 'after' ? 0 : plan.length - 1);
    for (let s = start; s >= 0 && s < plan.length && keys.length < limit; s += direction === 'after' ? 1 : -1) {
      const segment = plan[s];
      const { from, where } = filterSql(filter, true, pin ? segment.index : null);
      const parts: SqlFragment[] = [where];
      if (segment.condition) parts.push({ sql: segment.condition, params: [] });
      if (cursor && s === cursor.segment) parts.push(keysetCondition(segment.columns, cursor.values, direction));
      const condition = joinAnd(parts);
      const order = segment.columns.map((column) => `${column.sql} ${direction === 'after' ? 'ASC' : 'DESC'}`).join(', ');
      const select = segment.columns.map((column) => `${column.sql} AS ${column.alias}`).join(', ');
      const rows: KeyRow[] = await this.dataSource.query(
        `SELECT ${pin ? 'STRAIGHT_JOIN ' : ''}${select} FROM ${from} WHERE ${condition.sql} ORDER BY ${order} LIMIT ${Number(limit - keys.length)}`,
        condition.params,
      );
      keys.push(...rows.map((row) => ({ ...row, id: Number(row.id), segment: s })));
    }
    return keys;
  }

  /**
   * MariaDB drives a status/username/tag filter from that filter's index and sorts every
   * match (PERF-NOTES: red 85 ms, no username 112 ms). When such a filter matches many
   * patients, walking the sort index in order and probing until the page is full is
   * ~2 ms; a rare match is better left to the optimizer (the walk would be long).
   * A name prefix and a provider have their own indexes in name order and are not
   * pinned. An appointment range is: left alone MariaDB reads it from ix_patients_next_appt
   * and sorts every match (bench, 100k, "no username + appointment after + tag": 51 ms
   * vs ~6 ms walking the name index). SQLite plans these well by itself.
   */
  private pinSortIndex(filter: OnboardingFilter, matching: number): boolean {
    if (isSqliteManager(this.dataSource) || matching < PIN_WHEN_MATCHING_AT_LEAST) return false;
    if (filter.q || filter.providerId) return false;
    const { from } = filterSql(filter, true);
    return (
      from.includes('JOIN') || filter.tagId !== undefined || filter.apptBefore !== undefined || filter.apptAfter !== undefined
    );
  }

  private cursorOf(sort: OnboardingSort, key: KeyRow): Cursor {
    const segment = key.segment as number;
    const values = SORT_PLANS[sort][segment].columns.map((column) => {
      const value = key[column.alias];
      if (column.kind === 'id') return Number(value);
      if (column.kind === 'date') return fromSqlDate(value as Date | string);
      if (column.kind === 'datetime') return toSqlDateTime(fromSqlDateTime(value as Date | string)!);
      return String(value);
    });
    return { segment, values };
  }
}

/** One row as read (driver types); onboarding-query.service.ts turns it into an OnboardingRow. */
export interface OnboardingRecord {
  id: number | string;
  external_id: string | null;
  first_name: string;
  last_name: string;
  date_of_birth: Date | string;
  email: string | null;
  next_appointment_at: Date | string | null;
  deceased: number | boolean | string;
  access_enabled: number | boolean | string;
  username: string | null;
  invited_at: Date | string | null;
  first_login_at: Date | string | null;
  provider_name: string | null;
  link_expires_at: Date | string | null;
  link_used_at: Date | string | null;
  link_revoked_at: Date | string | null;
  email_status: string | null;
  bounced_email: string | null;
  preferred_language: string | null;
}
