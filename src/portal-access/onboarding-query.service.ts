import { latestInviteState, type LinkEvent } from './link-state';
import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { AuditContext } from '../audit/audit-context';
import { AuditService } from '../audit/audit.service';
import { fromSqlDate, fromSqlDateTime } from '../database/sql';
import { span } from '../observability/request-timing';
import { InvitationsService } from './invitations.service';
import type { LatestInvite } from '../invitations/invitations.types';
import type { OnboardingFilter, OnboardingSort } from './onboarding-filter';
import {
  OnboardingListRepository,
  type FilterOptions,
  type OnboardingPager,
  type OnboardingPageRequest,
  type OnboardingRecord,
} from './onboarding-list.repository';
import { canInvite, DECEASED_LABEL, inviteKind } from './portal-eligibility';
import { inviteProblem, PORTAL_STATUS_LABELS, portalStatus, type InviteProblem, type PortalStatus } from './portal-status';
import { type PortalReach, PortalReachService, withReach } from './representatives/portal-reach.service';

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
  /** BCP 47 tag on file; null: not known. */
  preferredLanguage: string | null;
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
  /** The address on file hard-bounced: no invite until it changes (issue 17). */
  emailBounced: boolean;
  /** The latest link's last state in words with its time (link-state.ts). */
  linkState: LinkEvent | null;
  /** Minors, representatives and shared addresses (issue 16; representatives/portal-reach.service.ts). */
  reach?: PortalReach | null;
}

export interface OnboardingPage extends OnboardingPager {
  rows: OnboardingRow[];
  total: number;
}

/**
 * Filters whose count reads only columns the generation triggers watch
 * (migrations/1766600000000-OnboardingListGeneration.ts). A filter field not listed here — a new
 * one reading another table — is counted on every view until its columns get triggers too.
 */
const COUNT_CACHED_FIELDS = new Set<string>([
  'q',
  'tagId',
  'providerId',
  'access',
  'username',
  'apptBefore',
  'apptAfter',
  'apptBeforeUtc',
  'apptAfterUtc',
  'status',
]);
/** Counts kept per instance (one per distinct filter; the oldest goes first). */
const COUNT_CACHE_SIZE = 500;

function countCacheKey(filter: OnboardingFilter): string | null {
  const fields = Object.entries(filter).filter(([, value]) => value !== undefined && value !== '');
  if (!fields.every(([field]) => COUNT_CACHED_FIELDS.has(field))) return null;
  // "Invite expired" depends on the clock, not only on writes.
  if (filter.status?.startsWith('orange-')) return null;
  return JSON.stringify(fields.sort(([a], [b]) => a.localeCompare(b)));
}

/** How long the filter form's tag and provider lists are reused (a new tag shows up within this time). */
const FILTER_OPTIONS_TTL_MS = 30_000;

/** The onboarding page's reads (SQL in onboarding-list.repository.ts): rows with their latest invite, the audited view. */
@Injectable()
export class OnboardingQueryService {
  private cachedOptions: { until: number; options: FilterOptions } | null = null;
  private readonly counts = new Map<string, { generation: number; total: number }>();

  constructor(
    private readonly list: OnboardingListRepository,
    private readonly invitations: InvitationsService,
    private readonly audit: AuditService,
    private readonly reach: PortalReachService,
  ) {}

  /** One page of the list; viewing patient data is audited (who looked at which filter). */
  async page(request: OnboardingPageRequest, context: AuditContext): Promise<OnboardingPage> {
    const sort = request.sort ?? 'name';
    const total = await span('count', () => this.count(request.filter));
    // The latest invites and the audit row need only the page's ids: read beside the rows.
    const read = this.list.page(request, total, async (ids) => {
      const [latest] = await Promise.all([
        span('invites', () => this.invitations.latestInvites(ids)),
        span('audit', () =>
          this.audit.record(context, {
            action: 'patients.list_viewed',
            details: { filter: request.filter, sort, shown: ids.length, total },
          }),
        ),
      ]);
      return latest;
    });
    const { records, alongside: invites, ...pager } = await span('list', () => read);
    return {
      rows: await span('reach', () => this.withReach(toRows(records, invites))),
      total,
      ...pager,
    };
  }

  /**
   * Every matching row in the page's order, `batch` at a time (the repository's keyset walk);
   * the CSV export reads the list through it.
   */
  async *walk(filter: OnboardingFilter, sort: OnboardingSort, batch = 1000): AsyncGenerator<OnboardingRow[]> {
    for await (const records of this.list.walk(filter, sort, batch)) {
      yield await this.withReach(
        toRows(records, await this.invitations.latestInvites(records.map((record) => Number(record.id)))),
      );
    }
  }

  /**
   * The exact number of patients matching the filter. Counting 100,000 rows on every view was the
   * page's largest cost: a count is kept per filter until the list's generation moves (bumped in
   * the writing transaction, shared by every instance through the database), so it is never
   * stale after a committed change — the viewer's own included.
   */
  async count(filter: OnboardingFilter): Promise<number> {
    const key = countCacheKey(filter);
    if (key === null) return this.list.count(filter);
    // Read before counting: a write in between leaves an older generation beside a newer count, recounted next time.
    const generation = await this.list.generation();
    const cached = this.counts.get(key);
    if (cached && cached.generation === generation) return cached.total;
    const total = await this.list.count(filter);
    this.counts.delete(key);
    this.counts.set(key, { generation, total });
    if (this.counts.size > COUNT_CACHE_SIZE) this.counts.delete(this.counts.keys().next().value!);
    return total;
  }

  /** Every patient id matching the filter (a bulk action over "all N matching"). */
  async matchingIds(filter: OnboardingFilter, manager?: EntityManager): Promise<number[]> {
    return this.list.matchingIds(filter, manager);
  }

  /** The rows for these patient ids, in the given order (unknown ids are left out). */
  async rows(ids: number[]): Promise<OnboardingRow[]> {
    if (ids.length === 0) return [];
    const [records, invites] = await Promise.all([this.list.records(ids), this.invitations.latestInvites(ids)]);
    return this.withReach(toRows(records, invites));
  }

  /** Issue 16: each row's minors / representatives / shared-address badges (portal-reach.service.ts). */
  private async withReach(rows: OnboardingRow[]): Promise<OnboardingRow[]> {
    const reach = await this.reach.forPatients(rows);
    return rows.map((row) => withReach(row, reach.get(row.id), this.reach.ages));
  }

  /**
   * The tag and provider lists of the filter form. They change rarely (imports, setup), so
   * each instance keeps them for FILTER_OPTIONS_TTL_MS instead of reading them on every page.
   */
  async filterOptions(): Promise<FilterOptions> {
    if (!this.cachedOptions || this.cachedOptions.until < Date.now()) {
      this.cachedOptions = { until: Date.now() + FILTER_OPTIONS_TTL_MS, options: await this.list.filterOptions() };
    }
    return this.cachedOptions.options;
  }

  /** Which of a tag and a provider id do not exist (the page leaves them out with a message). */
  async missingReferences(tagId: number | undefined, providerId: number | undefined): Promise<('tag' | 'provider')[]> {
    return this.list.missingReferences(tagId, providerId);
  }
}

/** Records (in their order) with their latest invites. */
function toRows(records: OnboardingRecord[], invites: Map<number, LatestInvite>): OnboardingRow[] {
  const now = new Date();
  return records.map((record) => toRow(record, invites.get(Number(record.id)) ?? null, now));
}

function toRow(record: OnboardingRecord, latestInvite: LatestInvite | null, now: Date): OnboardingRow {
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
    preferredLanguage: record.preferred_language,
    providerName: record.provider_name,
    nextAppointmentAt: fromSqlDateTime(record.next_appointment_at),
    status,
    statusLabel: shown.label,
    statusDescription: shown.description,
    deceased,
    canInvite: canInvite({ deceased, accessEnabled, email: record.email, bouncedEmail: record.bounced_email }),
    emailBounced: Boolean(record.bounced_email && record.bounced_email === record.email),
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
    linkState: latestInviteState(latestInvite, fromSqlDateTime(record.first_login_at), now),
  };
}
