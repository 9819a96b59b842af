import { ConflictException, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import type { AuditContext } from '../audit/audit-context';
import { AuditService } from '../audit/audit.service';
import { MailOutboxRepository } from '../invitations/outbox.repository';
import { PortalTokensService } from '../invitations/portal-tokens.service';
import { PatientsRepository } from '../patients/patients.repository';
import { PortalAccountsRepository } from './portal-accounts.repository';
import { deceasedRefusal, mayEnable } from './portal-eligibility';
import { message } from '../i18n/messages';
import { runInTransaction } from '../database/transactions';
import { RepresentativesService } from './representatives/representatives.service';

export interface EnableResult {
  /** Set for bulk actions: the audit rows share it. */
  batchId: string | null;
  requested: number;
  /** Patients whose access this call turned on (one audit row each). */
  enabled: number[];
  /** Already enabled before: left unchanged and not audited again (idempotent). */
  alreadyEnabled: number[];
  /** Recorded as deceased: never enabled (skipped in bulk, audited as denied). */
  deceased: number[];
}

/** Turns Patient Portal access on, for one patient or thousands, in one transaction with its audit rows. */
@Injectable()
export class PortalAccessService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly tokens: PortalTokensService,
    private readonly accounts: PortalAccountsRepository,
    private readonly outbox: MailOutboxRepository,
    private readonly patients: PatientsRepository,
    private readonly representatives: RepresentativesService,
  ) {}

  /**
   * Patients just recorded as deceased (by an import), inside the caller's transaction:
   * access off, every outstanding link revoked, every email still waiting to go to them
   * cancelled (body erased), their portal sessions ended, one audit row each.
   */
  async closeForDeceased(
    tx: EntityManager,
    patientIds: number[],
    context: AuditContext,
    details: Record<string, unknown> = {},
  ): Promise<void> {
    if (patientIds.length === 0) return;
    const now = new Date();
    const enabled = new Set(await this.accounts.enabledAmong(patientIds, tx));
    await this.accounts.disable(patientIds, now, tx);
    const cancelled = await this.outbox.countUnsentFor(patientIds, tx);
    // Links first (their emails are cancelled with them), then any other email still waiting (notices).
    await this.tokens.revokeTokensOf(tx, patientIds, 'deceased', now);
    await this.outbox.cancelUnsentFor(patientIds, 'patient recorded as deceased', tx);
    await this.representatives.endForDisabledPatients(patientIds, context, tx, now);
    await this.audit.recordMany(
      context,
      patientIds.map((patientId) => ({
        action: 'patient.marked_deceased',
        patientId,
        details: {
          ...details,
          accessDisabled: enabled.has(patientId),
          emailsCancelled: cancelled.get(patientId) ?? 0,
          sessionsEnded: true,
        },
      })),
      tx,
    );
  }

  /**
   * Enables access for the given patients, or for the ids `resolve` finds inside the
   * transaction (a filter). Set-based: one UPDATE per 1,000 ids plus batched audit
   * inserts, all committed together or not at all. An unknown id fails the whole call
   * before anything changes; already-enabled patients are left as they are. A deceased
   * patient is never enabled: skipped (and counted) in bulk, refused when alone.
   */
  async enable(
    target: number[] | ((manager: EntityManager) => Promise<number[]>),
    context: AuditContext,
    options: { bulk?: boolean } = {},
  ): Promise<EnableResult> {
    const batchId = options.bulk ? randomUUID() : null;
    return runInTransaction(this.dataSource, async (manager) => {
      const ids = [...new Set(typeof target === 'function' ? await target(manager) : target)];
      const accounts = await this.accounts.lockForEnable(ids, manager);
      const unknown = ids.filter((id) => !accounts.has(id));
      if (unknown.length > 0) {
        const ids = unknown.slice(0, 10).join(', ');
        throw new NotFoundException(
          unknown.length > 10
            ? message('staff:refusal.noPatientsMore', { ids, more: unknown.length - 10 })
            : message('staff:refusal.noPatients', { ids }),
        );
      }
      const deceased = ids.filter((id) => !mayEnable(accounts.get(id)!));
      if (!options.bulk && deceased.length) {
        throw new ConflictException(deceasedRefusal((await this.patients.fullName(deceased[0], manager))!, 'enable'));
      }
      const toEnable = ids.filter((id) => mayEnable(accounts.get(id)!) && !accounts.get(id)!.enabled);
      await this.accounts.enable(toEnable, new Date(), context.actorType === 'staff' ? context.actorId : null, manager);
      await this.audit.recordMany(
        context,
        [
          ...toEnable.map((patientId) => ({ action: 'portal.access_enabled', patientId, batchId })),
          ...deceased.map((patientId) => ({
            action: 'portal.enable_skipped',
            outcome: 'denied' as const,
            patientId,
            batchId,
            details: { reason: 'deceased' },
          })),
        ],
        manager,
      );
      return {
        batchId,
        requested: ids.length,
        enabled: toEnable,
        alreadyEnabled: ids.filter((id) => mayEnable(accounts.get(id)!) && accounts.get(id)!.enabled),
        deceased,
      };
    });
  }
}
