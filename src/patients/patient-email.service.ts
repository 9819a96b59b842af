import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { AuditContext } from '../audit/audit-context';
import { AuditService, type AuditEntry } from '../audit/audit.service';
import { FormValidationException } from '../common/validation/form-validation.exception';
import { isSqliteManager, toSqlDateTime } from '../database/sql';
import { AccountNoticesService, maskEmail } from '../invitations/account-notices.service';
import { PortalTokensService } from '../invitations/portal-tokens.service';
import { CONCURRENT_EDIT_MESSAGE } from './patients.service';
import { runInTransaction } from '../database/transactions';

/** One patient's email replaced: what the safe email-change rules need to know. */
export interface EmailChange {
  patientId: number;
  firstName: string;
  from: string | null;
  to: string;
}

/**
 * Changing a patient's email — the most sensitive change (see the seeds): whoever reads
 * that mailbox can take over the portal account. So every outstanding link is revoked and
 * the patient's portal sessions end; the old address is told (new one masked); it is
 * audited; emailed links work again only after a new invite/reset to the new address.
 * The dashboard adds its own checks first (staff verified the request, gave a reason, the
 * form is not stale); an import applies the same rules with "import" as the actor.
 */
@Injectable()
export class PatientEmailService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly tokens: PortalTokensService,
    private readonly notices: AccountNoticesService,
  ) {}

  async changeEmail(patientId: number, change: { email: string; reason: string; version: number }, context: AuditContext): Promise<void> {
    await runInTransaction(this.dataSource, async (tx) => {
      const rows: Array<{ email: string | null; first_name: string; version: number | string }> = await tx.query(
        `SELECT email, first_name, version FROM patients WHERE id = ?${isSqliteManager(tx) ? '' : ' FOR UPDATE'}`,
        [patientId],
      );
      const patient = rows[0];
      if (!patient) throw new NotFoundException('No such patient.');
      if (Number(patient.version) !== change.version) throw new ConflictException(CONCURRENT_EDIT_MESSAGE);
      if (patient.email && patient.email.toLowerCase() === change.email.toLowerCase()) throw new FormValidationException({ email: ['That is already the email on file.'] });
      await this.applyEmailChanges(tx, [{ patientId, firstName: patient.first_name, from: patient.email, to: change.email }], context, { reason: change.reason, verifiedWithPatient: true });
    });
  }

  /**
   * The rules themselves, inside the caller's transaction: write the new address, revoke
   * links (their unsent emails are cancelled), end portal sessions, notify the old
   * address, one audit row per patient (`details` adds the caller's context).
   */
  async applyEmailChanges(tx: EntityManager, changes: EmailChange[], context: AuditContext, details: Record<string, unknown> = {}): Promise<void> {
    const now = toSqlDateTime(new Date());
    const entries: AuditEntry[] = [];
    for (const change of changes) {
      await tx.query('UPDATE patients SET email = ?, version = version + 1, updated_at = ? WHERE id = ?', [change.to, now, change.patientId]);
      const revoked = await this.tokens.revokeTokens(change.patientId, 'email_changed', tx);
      await tx.query('UPDATE portal_accounts SET session_generation = session_generation + 1, version = version + 1, updated_at = ? WHERE patient_id = ?', [now, change.patientId]);
      if (change.from) await this.notices.queue(tx, 'email_changed', change.from, change.patientId, { firstName: change.firstName, maskedNewEmail: maskEmail(change.to) });
      entries.push({
        action: 'patient.email_changed',
        patientId: change.patientId,
        details: { from: change.from, to: change.to, ...details, revokedLinks: revoked, oldAddressNotified: Boolean(change.from) },
      });
    }
    await this.audit.recordMany(context, entries, tx);
  }
}
