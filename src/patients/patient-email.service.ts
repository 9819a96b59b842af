import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AuditContext } from '../audit/audit-context';
import { AuditService } from '../audit/audit.service';
import { FormValidationException } from '../common/validation/form-validation.exception';
import { isSqliteManager, toSqlDateTime } from '../database/sql';
import { AccountNoticesService, maskEmail } from '../invitations/account-notices.service';
import { PortalTokensService } from '../invitations/portal-tokens.service';
import { CONCURRENT_EDIT_MESSAGE } from './patients.service';

/**
 * Changing a patient's email — the most sensitive change (see the seeds): whoever reads
 * that mailbox can take over the portal account. So: staff confirm they verified the
 * request with the patient and give a reason; every outstanding link is revoked and the
 * patient's portal sessions end; the old address is told (new one masked); it is
 * audited; emailed links work again only after a new invite/reset to the new address.
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
    await this.dataSource.transaction(async (tx) => {
      const rows: Array<{ email: string | null; first_name: string; version: number | string }> = await tx.query(
        `SELECT email, first_name, version FROM patients WHERE id = ?${isSqliteManager(tx) ? '' : ' FOR UPDATE'}`,
        [patientId],
      );
      const patient = rows[0];
      if (!patient) throw new NotFoundException('No such patient.');
      if (Number(patient.version) !== change.version) throw new ConflictException(CONCURRENT_EDIT_MESSAGE);
      if (patient.email && patient.email.toLowerCase() === change.email.toLowerCase()) throw new FormValidationException({ email: ['That is already the email on file.'] });

      const now = toSqlDateTime(new Date());
      await tx.query('UPDATE patients SET email = ?, version = version + 1, updated_at = ? WHERE id = ?', [change.email, now, patientId]);
      const revoked = await this.tokens.revokeTokens(patientId, 'email_changed', tx);
      await tx.query('UPDATE portal_accounts SET session_generation = session_generation + 1, version = version + 1, updated_at = ? WHERE patient_id = ?', [now, patientId]);
      if (patient.email) await this.notices.queue(tx, 'email_changed', patient.email, patientId, { firstName: patient.first_name, maskedNewEmail: maskEmail(change.email) });
      await this.audit.record(
        context,
        { action: 'patient.email_changed', patientId, details: { from: patient.email, to: change.email, reason: change.reason, verifiedWithPatient: true, revokedLinks: revoked, oldAddressNotified: Boolean(patient.email) } },
        tx,
      );
    });
  }
}
