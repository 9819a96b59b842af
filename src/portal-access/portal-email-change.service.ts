import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { AuditContext } from '../audit/audit-context';
import { AuditService, type AuditEntry } from '../audit/audit.service';
import { AccountNoticesService, maskEmail } from '../invitations/account-notices.service';
import { PortalTokensService } from '../invitations/portal-tokens.service';
import { PatientsRepository } from '../patients/patients.repository';
import { PortalAccountsRepository } from './portal-accounts.repository';

/** One patient's email replaced: what the safe email-change rules need to know. */
export interface EmailChange {
  patientId: number;
  firstName: string;
  from: string | null;
  to: string;
  /** The old address's "this wasn't me" link, in the notice that the change is done. */
  reportUrl?: string;
}

/**
 * Changing a patient's email — the most sensitive change (see the seeds): whoever reads
 * that mailbox can take over the portal account. So every outstanding link is revoked and
 * the patient's portal sessions end; the old address is told (new one masked); it is
 * audited; emailed links work again only after a new invite/reset to the new address.
 * Reached only through EmailChangeService.confirm: a request (dashboard or import) is
 * approved when the policy asks for it and confirmed from the new address first.
 */
@Injectable()
export class PortalEmailChangeService {
  constructor(
    private readonly audit: AuditService,
    private readonly tokens: PortalTokensService,
    private readonly notices: AccountNoticesService,
    private readonly accounts: PortalAccountsRepository,
    private readonly patients: PatientsRepository,
  ) {}

  /**
   * The rules themselves, inside the caller's transaction: write the new address, revoke
   * links (their unsent emails are cancelled), end portal sessions, notify the old
   * address, one audit row per patient (`details` adds the caller's context).
   */
  async applyEmailChanges(
    tx: EntityManager,
    changes: EmailChange[],
    context: AuditContext,
    details: Record<string, unknown> = {},
  ): Promise<void> {
    const at = new Date();
    const entries: AuditEntry[] = [];
    for (const change of changes) {
      await this.patients.setEmail(change.patientId, change.to, at, tx);
      const revoked = await this.tokens.revokeTokens(change.patientId, 'email_changed', tx);
      await this.accounts.endPortalSessions([change.patientId], at, tx);
      if (change.from)
        await this.notices.queue(tx, 'email_changed', change.from, change.patientId, {
          firstName: change.firstName,
          maskedNewEmail: maskEmail(change.to),
          reportUrl: change.reportUrl ?? `${this.notices.portalUrl}`,
        });
      entries.push({
        action: 'patient.email_changed',
        patientId: change.patientId,
        details: {
          from: change.from,
          to: change.to,
          ...details,
          revokedLinks: revoked,
          oldAddressNotified: Boolean(change.from),
        },
      });
    }
    await this.audit.recordMany(context, entries, tx);
  }
}
