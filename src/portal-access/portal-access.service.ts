import { Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import type { AuditContext } from '../audit/audit-context';
import { AuditService } from '../audit/audit.service';
import { chunks, isSqliteManager, placeholders, toSqlDateTime } from '../database/sql';
import { runInTransaction } from '../database/transactions';

export interface EnableResult {
  /** Set for bulk actions: the audit rows share it. */
  batchId: string | null;
  requested: number;
  /** Patients whose access this call turned on (one audit row each). */
  enabled: number[];
  /** Already enabled before: left unchanged and not audited again (idempotent). */
  alreadyEnabled: number[];
}

/** Turns Patient Portal access on, for one patient or thousands, in one transaction with its audit rows. */
@Injectable()
export class PortalAccessService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
  ) {}

  /**
   * Enables access for the given patients, or for the ids `resolve` finds inside the
   * transaction (a filter). Set-based: one UPDATE per 1,000 ids plus batched audit
   * inserts, all committed together or not at all. An unknown id fails the whole call
   * before anything changes; already-enabled patients are left as they are.
   */
  async enable(target: number[] | ((manager: EntityManager) => Promise<number[]>), context: AuditContext, options: { bulk?: boolean } = {}): Promise<EnableResult> {
    const batchId = options.bulk ? randomUUID() : null;
    return runInTransaction(this.dataSource, async (manager) => {
      const ids = [...new Set(typeof target === 'function' ? await target(manager) : target)];
      const enabledBefore = await this.lockAccounts(manager, ids);
      const unknown = ids.filter((id) => !enabledBefore.has(id));
      if (unknown.length > 0) {
        const shown = unknown.slice(0, 10).join(', ') + (unknown.length > 10 ? ` and ${unknown.length - 10} more` : '');
        throw new NotFoundException(`No patient with id ${shown}. Nothing was changed.`);
      }
      const toEnable = ids.filter((id) => !enabledBefore.get(id));
      const now = toSqlDateTime(new Date());
      const staffId = context.actorType === 'staff' ? context.actorId : null;
      for (const chunk of chunks(toEnable)) {
        await manager.query(
          `UPDATE portal_accounts
              SET access_enabled = 1, enabled_at = ?, enabled_by_staff_id = ?, version = version + 1, updated_at = ?
            WHERE access_enabled = 0 AND patient_id IN (${placeholders(chunk.length)})`,
          [now, staffId, now, ...chunk],
        );
      }
      await this.audit.recordMany(context, toEnable.map((patientId) => ({ action: 'portal.access_enabled', patientId, batchId })), manager);
      return { batchId, requested: ids.length, enabled: toEnable, alreadyEnabled: ids.filter((id) => enabledBefore.get(id)) };
    });
  }

  /**
   * patient id → access_enabled, locking the rows on MySQL/MariaDB so two concurrent
   * enables of one patient write one audit row (the second sees it enabled). SQLite
   * serialises writers itself and has no FOR UPDATE.
   */
  private async lockAccounts(manager: EntityManager, ids: number[]): Promise<Map<number, boolean>> {
    const lock = isSqliteManager(manager) ? '' : ' FOR UPDATE';
    const found = new Map<number, boolean>();
    for (const chunk of chunks(ids)) {
      const rows: { patient_id: number | string; access_enabled: number | string | boolean }[] = await manager.query(
        `SELECT patient_id, access_enabled FROM portal_accounts WHERE patient_id IN (${placeholders(chunk.length)})${lock}`,
        chunk,
      );
      for (const row of rows) found.set(Number(row.patient_id), Number(row.access_enabled) === 1 || row.access_enabled === true);
    }
    return found;
  }
}
