import { Injectable } from '@nestjs/common';
import { type LinkWithDelivery, PortalTokensRepository } from '../invitations/portal-tokens.repository';
import { PortalAccountsRepository } from './portal-accounts.repository';
import { portalStatus, PortalStatus } from './portal-status';

/** A link on the tab: its row with delivery (PortalTokensRepository), and what it can still do. */
export interface PortalLinkRow extends LinkWithDelivery {
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
    private readonly accounts: PortalAccountsRepository,
    private readonly tokens: PortalTokensRepository,
  ) {}

  async overview(patientId: number, now = new Date()): Promise<PortalOverview> {
    const [account, links] = await Promise.all([this.accounts.overviewOf(patientId), this.tokens.latestOf(patientId, 10)]);
    const fields = {
      accessEnabled: account?.accessEnabled ?? false,
      invitedAt: account?.invitedAt ?? null,
      firstLoginAt: account?.firstLoginAt ?? null,
    };
    const lockedUntil = account?.lockedUntil ?? null;
    return {
      ...fields,
      status: portalStatus(fields),
      username: account?.username ?? null,
      enabledAt: account?.enabledAt ?? null,
      enabledBy: account?.enabledBy ?? null,
      lastLoginAt: account?.lastLoginAt ?? null,
      failedLoginCount: account?.failedLoginCount ?? 0,
      lockedUntil,
      locked: Boolean(lockedUntil && lockedUntil > now),
      version: account?.version ?? 1,
      links: links.map((link): PortalLinkRow => ({
        ...link,
        state: link.usedAt ? 'used' : link.revokedAt ? 'revoked' : link.expiresAt <= now ? 'expired' : 'active',
      })),
    };
  }
}
