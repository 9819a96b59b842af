import { Injectable } from '@nestjs/common';
import type { AuditContext } from '../audit/audit-context';
import { AuditService } from '../audit/audit.service';
import { InvitationsService } from '../portal-access/invitations.service';
import { PortalTokensRepository } from '../invitations/portal-tokens.repository';
import { canInvite } from '../portal-access/portal-eligibility';

/** "Send me a new link" at most this often per account per rolling day. */
export const NEW_LINKS_PER_DAY = 3;

/** Why no new link went out; audited, never shown (the answer is the same for everyone). */
export type NewLinkRefusal =
  'no_link' | 'unknown' | 'still_valid' | 'used' | 'revoked' | 'address_changed' | 'not_allowed' | 'bounced' | 'throttled';

/**
 * An expired or superseded link's page offers a fresh one: it goes to the address on file (never a
 * typed one), only while that is still the address the old link went to, at most NEW_LINKS_PER_DAY
 * a day. The caller answers the same whatever happened here.
 */
@Injectable()
export class NewLinkService {
  constructor(
    private readonly tokens: PortalTokensRepository,
    private readonly invitations: InvitationsService,
    private readonly audit: AuditService,
  ) {}

  async request(tokenHash: string | undefined, context: AuditContext): Promise<void> {
    const refusal = await this.refusal(tokenHash);
    const link = tokenHash ? await this.tokens.findByHash(tokenHash, false) : null;
    if (refusal) {
      await this.audit.record(context, {
        action: 'portal.new_link_requested',
        outcome: 'denied',
        patientId: link?.patientId ?? null,
        details: { reason: refusal },
      });
      return;
    }
    await this.invitations.sendInvites([link!.patientId], context, { issuedBy: 'patient' });
    await this.audit.record(context, {
      action: 'portal.new_link_requested',
      outcome: 'success',
      patientId: link!.patientId,
      details: { purpose: link!.purpose },
    });
  }

  private async refusal(tokenHash: string | undefined): Promise<NewLinkRefusal | null> {
    if (!tokenHash) return 'no_link';
    const link = await this.tokens.findByHash(tokenHash, false);
    if (!link) return 'unknown';
    if (link.usedAt) return 'used';
    if (link.revokedAt && (await this.tokens.revokedReasonOf(tokenHash)) !== 'superseded') return 'revoked';
    if (!link.revokedAt && link.expiresAt.getTime() > Date.now()) return 'still_valid';
    if (!link.email || link.email !== link.sentTo) return 'address_changed';
    if (!canInvite(link)) return 'not_allowed';
    if (link.bouncedEmail && link.bouncedEmail === link.email) return 'bounced';
    const since = new Date(Date.now() - 86_400_000);
    if ((await this.tokens.countIssuedBySince(link.patientId, 'patient', since)) >= NEW_LINKS_PER_DAY) return 'throttled';
    return null;
  }
}
