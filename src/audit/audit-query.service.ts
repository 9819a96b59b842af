import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { fromSqlDateTime, toSqlDateTime } from '../database/sql';

export interface AuditFilter {
  patientId?: number;
  staffUserId?: number;
  action?: string;
  /** Inclusive, UTC dates (YYYY-MM-DD). */
  from?: string;
  to?: string;
  /** Keyset: events older than this id. */
  before?: string;
}

export interface AuditRow {
  id: string;
  occurredAt: Date;
  actorType: string;
  actorId: number | null;
  actorLabel: string | null;
  action: string;
  outcome: string;
  patientId: number | null;
  patientName: string | null;
  batchId: string | null;
  ip: string | null;
  details: Record<string, unknown> | null;
}

export interface AuditPage {
  events: AuditRow[];
  /** Id to pass as `before` for the next (older) page, or null at the end. */
  nextBefore: string | null;
}

/** Reads the audit trail, newest first, with keyset pages (the table only ever grows). */
@Injectable()
export class AuditQueryService {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async page(filter: AuditFilter, pageSize = 50): Promise<AuditPage> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.patientId !== undefined) where.push('e.patient_id = ?') && params.push(filter.patientId);
    if (filter.staffUserId !== undefined) where.push("e.actor_type = 'staff' AND e.actor_id = ?") && params.push(filter.staffUserId);
    if (filter.action) where.push('e.action = ?') && params.push(filter.action);
    if (filter.from) where.push('e.occurred_at >= ?') && params.push(`${filter.from} 00:00:00`);
    if (filter.to) where.push('e.occurred_at < ?') && params.push(toSqlDateTime(new Date(Date.parse(`${filter.to}T00:00:00Z`) + 86_400_000)));
    if (filter.before) where.push('e.id < ?') && params.push(filter.before);
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT e.id, e.occurred_at, e.actor_type, e.actor_id, e.actor_label, e.action, e.outcome, e.patient_id, e.batch_id, e.ip, e.details,
              p.first_name, p.last_name
         FROM audit_events e LEFT JOIN patients p ON p.id = e.patient_id
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY e.id DESC LIMIT ${pageSize + 1}`,
      params,
    );
    const events = rows.slice(0, pageSize).map((row) => ({
      id: String(row.id),
      occurredAt: fromSqlDateTime(row.occurred_at as string | Date)!,
      actorType: String(row.actor_type),
      actorId: row.actor_id === null ? null : Number(row.actor_id),
      actorLabel: (row.actor_label as string | null) ?? null,
      action: String(row.action),
      outcome: String(row.outcome),
      patientId: row.patient_id === null ? null : Number(row.patient_id),
      patientName: row.last_name ? `${row.last_name as string}, ${row.first_name as string}` : null,
      batchId: (row.batch_id as string | null) ?? null,
      ip: (row.ip as string | null) ?? null,
      details: parseDetails(row.details as string | null),
    }));
    return { events, nextBefore: rows.length > pageSize ? events[events.length - 1].id : null };
  }

  /** Distinct action names for the filter's drop-down. */
  async actions(): Promise<string[]> {
    const rows: { action: string }[] = await this.dataSource.query('SELECT DISTINCT action FROM audit_events ORDER BY action');
    return rows.map((row) => row.action);
  }
}

function parseDetails(details: string | null): Record<string, unknown> | null {
  if (!details) return null;
  try {
    return JSON.parse(details) as Record<string, unknown>;
  } catch {
    return { raw: details };
  }
}
