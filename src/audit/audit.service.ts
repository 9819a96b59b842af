import { Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { insertRows, toSqlDateTime } from '../database/sql';
import { MetricsService } from '../observability/metrics.service';
import { AuditContext } from './audit-context';

export interface AuditEntry {
  action: string;
  outcome?: 'success' | 'failure' | 'denied';
  patientId?: number | null;
  batchId?: string | null;
  details?: Record<string, unknown>;
}

/**
 * Append-only audit trail. Pass the transaction's EntityManager so the row commits
 * or rolls back with the action it describes (fail closed).
 */
@Injectable()
export class AuditService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Optional() private readonly metrics?: MetricsService,
  ) {}

  async record(context: AuditContext, entry: AuditEntry, manager: EntityManager = this.dataSource.manager): Promise<void> {
    await this.recordMany(context, [entry], manager);
  }

  async recordMany(context: AuditContext, entries: AuditEntry[], manager: EntityManager = this.dataSource.manager): Promise<void> {
    if (entries.length === 0) return;
    const now = toSqlDateTime(new Date());
    // Plain multi-row INSERTs: bulk actions write thousands of rows, and the ORM's per-row work showed in the bench.
    await insertRows(
      manager,
      'audit_events',
      ['occurred_at', 'actor_type', 'actor_id', 'actor_label', 'action', 'outcome', 'patient_id', 'batch_id', 'ip', 'user_agent', 'details'],
      entries.map((entry) => [
        now,
        context.actorType,
        context.actorId,
        context.actorLabel,
        entry.action,
        entry.outcome ?? 'success',
        entry.patientId ?? null,
        entry.batchId ?? null,
        context.ip,
        context.userAgent,
        entry.details ? JSON.stringify(entry.details) : null,
      ]),
    );
    // Sign-in failures, lockouts, emails and imports are counted where they are audited.
    this.metrics?.observeAudit(entries);
  }

  /** Patients of one bulk action's rows by this staff member (ix_audit_batch): a kept bulk selection. */
  async patientsOfBatch(batchId: string, action: string, staffId: number, manager: EntityManager = this.dataSource.manager): Promise<number[]> {
    const rows: { patient_id: number | string }[] = await manager.query(
      "SELECT patient_id FROM audit_events WHERE batch_id = ? AND action = ? AND actor_type = 'staff' AND actor_id = ? AND patient_id IS NOT NULL",
      [batchId, action, staffId],
    );
    return rows.map((row) => Number(row.patient_id));
  }
}
