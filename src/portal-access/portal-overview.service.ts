import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { fromSqlDateTime } from '../database/sql';
import { PortalTokensRepository } from '../invitations/portal-tokens.repository';
import type { PortalTokenPurpose } from '../invitations/entities/portal-token.entity';
import { portalStatus, PortalStatus } from './portal-status';

export interface PortalLinkRow {
  id: number;
  purpose: PortalTokenPurpose;
  sentTo: string;
  createdAt: Date;
  expiresAt: Date;
  usedAt: Date | null;
  revokedAt: Date | null;
  revokedReason: string | null;
  /** queued / sending / sent / failed (from the outbox), or null when no email row exists. */
  delivery: string | null;
  sentAt: Date | null;
  /** What the link can still do, in words for the tab. */
  state: 'used' | 'revoked' | 'expired' | 'active';
}

export interface PortalOverview {
  status: PortalStatus;
  accessEnabled: boolean;
  username: string | null;
  enabledAt: Date | null;
  enabledBy: string | null;
  invitedAt: Date | null;
  firstLoginAt: Date | null;
  lastLoginAt: Date | null;
  failedLoginCount: number;
  lockedUntil: Date | null;
  locked: boolean;
  version: number;
  links: PortalLinkRow[];
}

/** Everything the dashboard's Patient Portal tab shows about one patient's account (read-only). */
@Injectable()
export class PortalOverviewService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly tokens: PortalTokensRepository,
  ) {}

  async overview(patientId: number, now = new Date()): Promise<PortalOverview> {
    const [account] = await this.dataSource.query(
      `SELECT pa.access_enabled, pa.username, pa.enabled_at, pa.invited_at, pa.first_login_at, pa.last_login_at,
              pa.failed_login_count, pa.locked_until, pa.version, s.name AS enabled_by
         FROM portal_accounts pa LEFT JOIN staff_users s ON s.id = pa.enabled_by_staff_id
        WHERE pa.patient_id = ?`,
      [patientId],
    );
    const links = await this.tokens.latestOf(patientId, 10);
    const fields = {
      accessEnabled: Boolean(Number(account?.access_enabled ?? 0)),
      invitedAt: fromSqlDateTime(account?.invited_at),
      firstLoginAt: fromSqlDateTime(account?.first_login_at),
    };
    const lockedUntil = fromSqlDateTime(account?.locked_until);
    return {
      ...fields,
      status: portalStatus(fields),
      username: account?.username ?? null,
      enabledAt: fromSqlDateTime(account?.enabled_at),
      enabledBy: account?.enabled_by ?? null,
      lastLoginAt: fromSqlDateTime(account?.last_login_at),
      failedLoginCount: Number(account?.failed_login_count ?? 0),
      lockedUntil,
      locked: Boolean(lockedUntil && lockedUntil > now),
      version: Number(account?.version ?? 1),
      links: links.map((link): PortalLinkRow => ({
        ...link,
        state: link.usedAt ? 'used' : link.revokedAt ? 'revoked' : link.expiresAt <= now ? 'expired' : 'active',
      })),
    };
  }
}
