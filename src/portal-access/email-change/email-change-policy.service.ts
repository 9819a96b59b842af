import { Injectable, NotFoundException, type PipeTransform } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { AuditContext } from '../../audit/audit-context';
import { AuditService } from '../../audit/audit.service';
import { SettingsRepository } from '../../auth/settings.repository';
import type { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { runInTransaction } from '../../database/transactions';

export const EMAIL_CHANGE_NEEDS_APPROVAL = 'patients.email_change_needs_approval';

/** What a second staff member does with a waiting email change (the last segment of its POST). */
export type EmailChangeDecision = 'approve' | 'reject';

/** The `:decision` route parameter: anything but approve/reject is an unknown page, as before it was a route of its own. */
export const EMAIL_CHANGE_DECISION: PipeTransform<string, EmailChangeDecision> = {
  transform(value: string): EmailChangeDecision {
    if (value === 'approve' || value === 'reject') return value;
    throw new NotFoundException();
  },
};

/**
 * "Email changes need a second staff member's approval": on by default in production, off
 * otherwise; once an admin sets it, the stored value wins. Read on every use, so all app
 * instances agree at once.
 */
@Injectable()
export class EmailChangePolicyService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectConfig() private readonly config: AppConfig,
    private readonly audit: AuditService,
    private readonly settings: SettingsRepository,
  ) {}

  /** An admin switches the policy: stored and audited in one transaction. */
  async change(needsApproval: boolean, context: AuditContext): Promise<void> {
    await runInTransaction(this.dataSource, async (tx) => {
      const before = await this.store(needsApproval, context.actorId, tx);
      await this.audit.record(
        context,
        { action: 'admin.email_change_policy_changed', details: { from: before, to: needsApproval } },
        tx,
      );
    });
  }

  async needsApproval(manager: EntityManager = this.dataSource.manager): Promise<boolean> {
    const value = await this.settings.valueOf(EMAIL_CHANGE_NEEDS_APPROVAL, manager);
    return value !== null ? value === 'true' : this.config.isProduction;
  }

  async isStored(): Promise<boolean> {
    return this.settings.isStored(EMAIL_CHANGE_NEEDS_APPROVAL);
  }

  async store(required: boolean, staffUserId: number | null, manager: EntityManager): Promise<boolean> {
    const before = await this.needsApproval(manager);
    await this.settings.put(EMAIL_CHANGE_NEEDS_APPROVAL, String(required), staffUserId, manager);
    return before;
  }
}
