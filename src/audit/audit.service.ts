import { Injectable, Optional } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { MetricsService } from '../observability/metrics.service';
import { AuditContext } from './audit-context';
import { AuditRepository } from './audit.repository';

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
    private readonly events: AuditRepository,
    @Optional() private readonly metrics?: MetricsService,
  ) {}

  async record(context: AuditContext, entry: AuditEntry, manager?: EntityManager): Promise<void> {
    await this.recordMany(context, [entry], manager);
  }

  async recordMany(context: AuditContext, entries: AuditEntry[], manager?: EntityManager): Promise<void> {
    if (entries.length === 0) return;
    await this.events.recordMany(
      context,
      entries.map((entry) => ({
        action: entry.action,
        outcome: entry.outcome ?? 'success',
        patientId: entry.patientId ?? null,
        batchId: entry.batchId ?? null,
        details: entry.details ?? null,
      })),
      new Date(),
      manager,
    );
    // Sign-in failures, lockouts, emails and imports are counted where they are audited.
    this.metrics?.observeAudit(entries);
  }

  /** A batch's rows of these actions by this staff member, with details (e.g. printed/skipped letters). */
  async eventsOfBatch(batchId: string, actions: string[], staffId: number) {
    return this.events.eventsOfBatch(batchId, actions, staffId);
  }

  /** Patients of one bulk action's rows by this staff member (ix_audit_batch): a kept bulk selection. */
  async patientsOfBatch(batchId: string, action: string, staffId: number, manager?: EntityManager): Promise<number[]> {
    return this.events.patientsOfBatch(batchId, action, staffId, manager);
  }
}
