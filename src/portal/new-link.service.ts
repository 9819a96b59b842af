import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { AuditContext } from '../audit/audit-context';
import { AuditService } from '../audit/audit.service';
import { runInTransaction } from '../database/transactions';
import { InvitationsService } from '../portal-access/invitations.service';
import { PortalAccountsRepository } from '../portal-access/portal-accounts.repository';
import { PortalTokensRepository, type TokenWithHolder } from '../invitations/portal-tokens.repository';
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
 *
 * The cap is checked and the link issued in one transaction that first locks the patient's account
 * row, so concurrent requests (two tabs, a script) queue behind each other and each counts the links
 * the ones before it issued: never more than NEW_LINKS_PER_DAY. The lock is the transaction's first
 * read, so on MariaDB its later (consistent) reads see everything committed before the lock was
 * granted; on Galera a request on another node fails certification at commit and runs again.
 */
@Injectable()
export class NewLinkService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly tokens: PortalTokensRepository,
    private readonly accounts: PortalAccountsRepository,
    private readonly invitations: InvitationsService,
    private readonly audit: AuditService,
  ) {}

  async request(tokenHash: string | undefined, context: AuditContext): Promise<void> {
    const found = tokenHash ? await this.tokens.findByHash(tokenHash, false) : null;
    const { refusal, link } = found
      ? await runInTransaction(this.dataSource, async (tx) => {
          await this.accounts.lockForChange(found.patientId, tx);
          const link = (await this.tokens.findByHash(tokenHash!, false, tx))!;
          const refusal = await this.refusal(tokenHash!, link, tx);
          if (!refusal) await this.invitations.sendInvites([link.patientId], context, { issuedBy: 'patient', tx });
          return { refusal, link };
        })
      : { refusal: (tokenHash ? 'unknown' : 'no_link') as NewLinkRefusal, link: null };
    await this.audit.record(
      context,
      refusal
        ? {
            action: 'portal.new_link_requested',
            outcome: 'denied',
            patientId: link?.patientId ?? null,
            details: { reason: refusal },
          }
        : {
            action: 'portal.new_link_requested',
            outcome: 'success',
            patientId: link!.patientId,
            details: { purpose: link!.purpose },
          },
    );
  }

  private async refusal(tokenHash: string, link: TokenWithHolder, tx: EntityManager): Promise<NewLinkRefusal | null> {
    if (link.usedAt) return 'used';
    if (link.revokedAt && (await this.tokens.revokedReasonOf(tokenHash, tx)) !== 'superseded') return 'revoked';
    if (!link.revokedAt && link.expiresAt.getTime() > Date.now()) return 'still_valid';
    if (!link.email || link.email !== link.sentTo) return 'address_changed';
    if (!canInvite(link)) return 'not_allowed';
    if (link.bouncedEmail && link.bouncedEmail === link.email) return 'bounced';
    const since = new Date(Date.now() - 86_400_000);
    if ((await this.tokens.countIssuedBySince(link.patientId, 'patient', since, tx)) >= NEW_LINKS_PER_DAY) return 'throttled';
    return null;
  }
}
