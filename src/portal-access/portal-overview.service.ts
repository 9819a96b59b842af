import { Injectable } from '@nestjs/common';
import { type LinkWithDelivery, PortalTokensRepository } from '../invitations/portal-tokens.repository';
import { type AccountOverview, PortalAccountsRepository } from './portal-accounts.repository';
import { RepresentativeAccountsRepository } from './representative-accounts.repository';
import { portalStatus, PortalStatus } from './portal-status';
import { linkHistory, type LinkEvent } from './link-state';

/** A link on the tab: its row with delivery (PortalTokensRepository), and what it can still do. */
export interface PortalLinkRow extends LinkWithDelivery {
  /** What the link can still do, in words for the tab. */
  state: 'used' | 'revoked' | 'expired' | 'active';
  /** Everything that happened to it, oldest first (link-state.ts). */
  history: LinkEvent[];
  issuedBy: string | null;
  /** Whose link: the representative's name for a link sent to a representative (issue 16), else null. */
  representativeName: string | null;
}

/** The account's row (AccountOverview), its status and lock in effect now, and its latest links. */
export interface PortalOverview extends AccountOverview {
  status: PortalStatus;
  locked: boolean;
  links: PortalLinkRow[];
  /** The address a hard bounce came back from, and when (issue 17). */
  bouncedEmail: string | null;
  emailBouncedAt: Date | null;
}

/** What the tab shows for a patient without an account row. */
const NO_ACCOUNT: AccountOverview = {
  accessEnabled: false,
  username: null,
  enabledAt: null,
  enabledBy: null,
  invitedAt: null,
  firstLoginAt: null,
  lastLoginAt: null,
  failedLoginCount: 0,
  lockedUntil: null,
  version: 1,
  bouncedEmail: null,
  emailBouncedAt: null,
};

/** Everything the dashboard's Patient Portal tab shows about one patient's account (read-only). */
@Injectable()
export class PortalOverviewService {
  constructor(
    private readonly accounts: PortalAccountsRepository,
    private readonly tokens: PortalTokensRepository,
    private readonly representativeAccounts: RepresentativeAccountsRepository,
  ) {}

  /**
   * The account, and the latest links: the patient's own (10) and those sent to their
   * representatives for them (10), newest first. A representative's link is followed to its own
   * account's first sign-in, not the patient's.
   */
  async overview(patientId: number, now = new Date()): Promise<PortalOverview> {
    const [found, own, theirs] = await Promise.all([
      this.accounts.overviewOf(patientId),
      this.tokens.latestOf(patientId, 10),
      this.tokens.latestOf(patientId, 10, undefined, 'representatives'),
    ]);
    const account = found ?? NO_ACCOUNT;
    const holders = await this.representativeAccounts.byIds([...new Set(theirs.map((link) => link.representativeAccountId!))]);
    const links = [...own, ...theirs].sort((a, b) => b.id - a.id);
    return {
      ...account,
      status: portalStatus(account),
      locked: Boolean(account.lockedUntil && account.lockedUntil > now),
      links: links.map((link): PortalLinkRow => {
        const holder = link.representativeAccountId ? holders.get(link.representativeAccountId) : undefined;
        return {
          ...link,
          state: link.usedAt ? 'used' : link.revokedAt ? 'revoked' : link.expiresAt <= now ? 'expired' : 'active',
          history: linkHistory({ ...link, firstLoginAt: holder ? holder.firstLoginAt : account.firstLoginAt }, now),
          representativeName: link.representativeAccountId ? (holder?.fullName ?? 'a representative') : null,
        };
      }),
    };
  }
}
