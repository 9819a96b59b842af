import { BadRequestException, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { AuditContext } from '../audit/audit-context';
import { AuditService } from '../audit/audit.service';
import { fromSqlDate, fromSqlDateTime, isSqliteManager, placeholders, toSqlDateTime } from '../database/sql';
import { InvitationsService } from '../invitations/invitations.service';
import type { LatestInvite } from '../invitations/invitations.types';
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
import { canInvite, DECEASED_LABEL, inviteKind } from './portal-eligibility';
import {
  inviteProblem,
  inviteProblemFieldsSql,
  PORTAL_STATUS_LABELS,
  portalStatus,
  type InviteProblem,
  type PortalStatus,
} from './portal-status';
import { type PortalReach, PortalReachService, withReach } from './representatives/portal-reach.service';

export interface OnboardingPageRequest {
  filter: OnboardingFilter;
  sort?: OnboardingSort;
  size?: number;
  after?: string;
  before?: string;
  /** Page number: a jump ("Go to page", First, Last) without a cursor, or the label of a cursor's page. */
  page?: number;
}

/** What one table row shows: only the fields staff need (minimum necessary), never the whole record. */
export interface OnboardingRow {
  id: number;
  firstName: string;
  lastName: string;
  fullName: string;
  /** The medical record number (patients.external_id, as imported). */
  mrn: string | null;
  dateOfBirth: string;
  email: string | null;
  username: string | null;
  providerName: string | null;
  nextAppointmentAt: Date | null;
  status: PortalStatus;
  statusLabel: string;
  statusDescription: string;
  /** Recorded as deceased: the status cell says so and offers no action. */
  deceased: boolean;
  /** The Action column's link: enabled patients (gray/orange/green) with an email on file, never a deceased one. */
  canInvite: boolean;
  /** Which email the invite link sends (the same choice as the send). */
  inviteKind: 'invite' | 'reset';
  latestInvite: LatestInvite | null;
  /** Orange, but the invite cannot work: it expired unused or its email failed (portal-status.ts). */
  inviteProblem: InviteProblem | null;
  linkExpiresAt: Date | null;
  /** Minors, representatives and shared addresses (issue 16; representatives/portal-reach.service.ts). */
  reach?: PortalReach | null;
}

export interface OnboardingPage {
  rows: OnboardingRow[];
  total: number;
  sort: OnboardingSort;
  size: number;
  /** "Page 3 of 57": pages at this size, and this page's number (null when a bookmark's cursor did not say). */
  pages: number;
  pageNumber: number | null;
  /** Cursors for the pager links; null when there is no such page. */
  next: string | null;
  previous: string | null;
}

const INVITE_PROBLEM_FIELDS = inviteProblemFieldsSql('pa');

/** Below this many matches the filter's own index is the faster driver (a short sort). */
const PIN_WHEN_MATCHING_AT_LEAST = 2000;

interface KeyRow {
  id: number;
  [column: string]: unknown;
}

/** Reads for the onboarding page: filtered, keyset-paged, counted; and filters resolved to ids for bulk actions. */
type FilterOptions = { tags: { id: number; name: string }[]; providers: { id: number; name: string }[] };

/** How long the filter form's tag and provider lists are reused (a new tag shows up within this time). */
const FILTER_OPTIONS_TTL_MS = 30_000;

@Injectable()
export class OnboardingQueryService {
  private cachedOptions: { until: number; options: FilterOptions } | null = null;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly invitations: InvitationsService,
    private readonly audit: AuditService,
    private readonly reach: PortalReachService,
  ) {}

  /** One page of the list; viewing patient data is audited (who looked at which filter). */
  async page(request: OnboardingPageRequest, context: AuditContext): Promise<OnboardingPage> {
    const sort = request.sort ?? 'name';
    const size = request.size ?? DEFAULT_PAGE_SIZE;
    const total = await this.count(request.filter);
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

    // The audit row and the rows' reads are independent: on two pooled connections at once (bench: ~1 ms of each page).
    const [rows] = await Promise.all([
      this.rows(keys.map((key) => key.id)),
      this.audit.record(context, {
        action: 'patients.list_viewed',
        details: { filter: request.filter, sort, shown: keys.length, total },
      }),
    ]);
    const first = keys[0];
    const last = keys[keys.length - 1];
    const hasPrevious = direction === 'before' ? more : cursor !== null;
    const hasNext = direction === 'after' ? more : cursor !== null;
    return {
      rows,
      total,
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
   * The keyset cursor just before row `offset` of the sort order ("Go to page N"): the
   * filter's rows are counted along the sort index up to that row, once; from there on
   * Next/Previous are keyset pages again. Segments (sort by next appointment) are counted
   * in turn.
   */
  /**
   * Every matching row in the page's order, `batch` at a time: the page's own keyset walk
   * (pageKeys, cursorOf) carried to the end; the CSV export reads the list through it.
   */
  async *walk(filter: OnboardingFilter, sort: OnboardingSort, batch = 1000): AsyncGenerator<OnboardingRow[]> {
    let cursor: Cursor | null = null;
    for (;;) {
      const keys = await this.pageKeys(filter, sort, batch, 'after', cursor, 0);
      if (keys.length === 0) return;
      yield await this.rows(keys.map((key) => key.id));
      if (keys.length < batch) return;
      cursor = this.cursorOf(sort, keys[keys.length - 1]);
    }
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

  /** The rows for these patient ids, in the given order (unknown ids are left out). */
  async rows(ids: number[]): Promise<OnboardingRow[]> {
    if (ids.length === 0) return [];
    const inList = placeholders(ids.length);
    const [records, invites]: [RowRecord[], Map<number, LatestInvite>] = await Promise.all([
      this.dataSource.query(
        `SELECT p.id, p.external_id, p.first_name, p.last_name, p.date_of_birth, p.email, p.next_appointment_at, p.deceased,
                pa.access_enabled, pa.username, pa.invited_at, pa.first_login_at, pr.name AS provider_name,
                ${INVITE_PROBLEM_FIELDS.columns}
           FROM patients p
           JOIN portal_accounts pa ON pa.patient_id = p.id
           LEFT JOIN providers pr ON pr.id = p.primary_provider_id
           ${INVITE_PROBLEM_FIELDS.join}
          WHERE p.id IN (${inList})`,
        ids,
      ),
      this.invitations.latestInvites(ids),
    ]);
    const now = new Date();
    const byId = new Map(
      records.map((record) => [Number(record.id), toRow(record, invites.get(Number(record.id)) ?? null, now)]),
    );
    const rows = ids.map((id) => byId.get(id)).filter((row): row is OnboardingRow => row !== undefined);
    const reach = await this.reach.forPatients(rows);
    return rows.map((row) => withReach(row, reach.get(row.id), this.reach.ages));
  }

  /**
   * The tag and provider lists of the filter form. They change rarely (imports, setup), so
   * each instance keeps them for FILTER_OPTIONS_TTL_MS instead of reading them on every page.
   */
  async filterOptions(): Promise<FilterOptions> {
    if (!this.cachedOptions || this.cachedOptions.until < Date.now()) {
      const [tags, providers] = await Promise.all([
        this.dataSource.query('SELECT id, name FROM tags ORDER BY name'),
        this.dataSource.query('SELECT id, name FROM providers ORDER BY name'),
      ]);
      this.cachedOptions = { until: Date.now() + FILTER_OPTIONS_TTL_MS, options: { tags, providers } };
    }
    return this.cachedOptions.options;
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
      ['tags', filter.tagId, 'The chosen tag does not exist.'],
      ['providers', filter.providerId, 'The chosen primary provider does not exist.'],
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

interface RowRecord {
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
}

function toRow(record: RowRecord, latestInvite: LatestInvite | null, now: Date): OnboardingRow {
  const accessEnabled = Number(record.access_enabled) === 1 || record.access_enabled === true;
  const deceased = Number(record.deceased) === 1 || record.deceased === true;
  const status = portalStatus({
    accessEnabled,
    invitedAt: fromSqlDateTime(record.invited_at),
    firstLoginAt: fromSqlDateTime(record.first_login_at),
  });
  const shown = deceased ? DECEASED_LABEL : PORTAL_STATUS_LABELS[status];
  return {
    id: Number(record.id),
    firstName: record.first_name,
    lastName: record.last_name,
    fullName: `${record.first_name} ${record.last_name}`,
    mrn: record.external_id,
    dateOfBirth: fromSqlDate(record.date_of_birth),
    email: record.email,
    username: record.username,
    providerName: record.provider_name,
    nextAppointmentAt: fromSqlDateTime(record.next_appointment_at),
    status,
    statusLabel: shown.label,
    statusDescription: shown.description,
    deceased,
    canInvite: canInvite({ deceased, accessEnabled, email: record.email }),
    inviteKind: inviteKind(record),
    latestInvite,
    inviteProblem: inviteProblem(
      status,
      {
        linkExpiresAt: fromSqlDateTime(record.link_expires_at),
        linkUsedAt: fromSqlDateTime(record.link_used_at),
        linkRevokedAt: fromSqlDateTime(record.link_revoked_at),
        emailStatus: record.email_status || null,
      },
      now,
    ),
    linkExpiresAt: fromSqlDateTime(record.link_expires_at),
  };
}
