import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { fromSqlDateTime } from '../database/sql';
import { portalStatus, PortalStatus } from './portal-status';

export interface PortalLinkRow {
  id: number;
  purpose: 'invite' | 'reset';
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
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async overview(patientId: number, now = new Date()): Promise<PortalOverview> {
    const [account] = await this.dataSource.query(
      `SELECT pa.access_enabled, pa.username, pa.enabled_at, pa.invited_at, pa.first_login_at, pa.last_login_at,
              pa.failed_login_count, pa.locked_until, pa.version, s.name AS enabled_by
         FROM portal_accounts pa LEFT JOIN staff_users s ON s.id = pa.enabled_by_staff_id
        WHERE pa.patient_id = ?`,
      [patientId],
    );
    const links: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT t.id, t.purpose, t.sent_to, t.created_at, t.expires_at, t.used_at, t.revoked_at, t.revoked_reason, o.status AS delivery, o.sent_at
         FROM portal_tokens t LEFT JOIN mail_outbox o ON o.portal_token_id = t.id
        WHERE t.patient_id = ? ORDER BY t.id DESC LIMIT 10`,
      [patientId],
    );
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
      links: links.map((row) => {
        const link = {
          id: Number(row.id),
          purpose: row.purpose as 'invite' | 'reset',
          sentTo: String(row.sent_to),
          createdAt: fromSqlDateTime(row.created_at as string)!,
          expiresAt: fromSqlDateTime(row.expires_at as string)!,
          usedAt: fromSqlDateTime(row.used_at as string | null),
          revokedAt: fromSqlDateTime(row.revoked_at as string | null),
          revokedReason: (row.revoked_reason as string | null) ?? null,
          delivery: (row.delivery as string | null) ?? null,
          sentAt: fromSqlDateTime(row.sent_at as string | null),
        };
        const state = link.usedAt ? 'used' : link.revokedAt ? 'revoked' : link.expiresAt <= now ? 'expired' : 'active';
        return { ...link, state } as PortalLinkRow;
      }),
    };
  }
}
