import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditContext } from './audit-context';
import { AuditEvent } from './entities/audit-event.entity';

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
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async record(context: AuditContext, entry: AuditEntry, manager: EntityManager = this.dataSource.manager): Promise<void> {
    await this.recordMany(context, [entry], manager);
  }

  async recordMany(context: AuditContext, entries: AuditEntry[], manager: EntityManager = this.dataSource.manager): Promise<void> {
    if (entries.length === 0) return;
    const now = new Date();
    const rows = entries.map((entry) => ({
      occurredAt: now,
      actorType: context.actorType,
      actorId: context.actorId,
      actorLabel: context.actorLabel,
      action: entry.action,
      outcome: entry.outcome ?? 'success',
      patientId: entry.patientId ?? null,
      batchId: entry.batchId ?? null,
      ip: context.ip,
      userAgent: context.userAgent,
      details: entry.details ? JSON.stringify(entry.details) : null,
    }));
    for (let i = 0; i < rows.length; i += 500) {
      await manager.createQueryBuilder().insert().into(AuditEvent).values(rows.slice(i, i + 500)).updateEntity(false).execute();
    }
  }
}
