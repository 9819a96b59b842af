import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { fromSqlDateTime, placeholders, toSqlDateTime } from '../database/sql';
import { actorOf, type ViewSummary } from './patient-activity';

const RECORD_VIEWED = 'patient.viewed';

export interface AuditFilter {
  patientId?: number;
  /** Any of these patients (the admin filter typed a name or MRN that matched several). */
  patientIds?: number[];
  staffUserId?: number;
  action?: string;
  /** Inclusive, UTC dates (YYYY-MM-DD). */
  from?: string;
  to?: string;
  /** Keyset: events older than this id. */
  before?: string;
  excludeActions?: string[];
}

export interface AuditRow {
  id: string;
  occurredAt: Date;
  actorType: string;
  actorId: number | null;
  actorLabel: string | null;
  /** The staff member's name, when a staff member acted. */
  staffName: string | null;
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
    if (filter.patientIds) {
      // An empty match list matches nothing (never "everything").
      if (!filter.patientIds.length) where.push('1 = 0');
      else where.push(`e.patient_id IN (${placeholders(filter.patientIds.length)})`) && params.push(...filter.patientIds);
    }
    if (filter.excludeActions?.length) where.push(`e.action NOT IN (${placeholders(filter.excludeActions.length)})`) && params.push(...filter.excludeActions);
    if (filter.staffUserId !== undefined) where.push("e.actor_type = 'staff' AND e.actor_id = ?") && params.push(filter.staffUserId);
    if (filter.action) where.push('e.action = ?') && params.push(filter.action);
    if (filter.from) where.push('e.occurred_at >= ?') && params.push(`${filter.from} 00:00:00`);
    if (filter.to) where.push('e.occurred_at < ?') && params.push(toSqlDateTime(new Date(Date.parse(`${filter.to}T00:00:00Z`) + 86_400_000)));
    if (filter.before) where.push('e.id < ?') && params.push(filter.before);
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT e.id, e.occurred_at, e.actor_type, e.actor_id, e.actor_label, e.action, e.outcome, e.patient_id, e.batch_id, e.ip, e.details,
              p.first_name, p.last_name, s.name AS staff_name
         FROM audit_events e LEFT JOIN patients p ON p.id = e.patient_id
         LEFT JOIN staff_users s ON e.actor_type = 'staff' AND s.id = e.actor_id
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
      staffName: (row.staff_name as string | null) ?? null,
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

  /**
   * A patient's activity for the dashboard: the latest events other than record views, and
   * the views folded into a count with the last one (a busy record is opened many times a day).
   */
  async patientActivity(patientId: number, limit = 30): Promise<{ events: AuditRow[]; views: ViewSummary }> {
    const [page, counted, last] = await Promise.all([
      this.page({ patientId, excludeActions: [RECORD_VIEWED] }, limit),
      this.dataSource.query('SELECT COUNT(*) AS n FROM audit_events WHERE patient_id = ? AND action = ?', [patientId, RECORD_VIEWED]),
      this.page({ patientId, action: RECORD_VIEWED }, 1),
    ]);
    const lastView = last.events[0];
    return {
      events: page.events,
      views: { count: Number(counted[0].n), lastAt: lastView?.occurredAt ?? null, lastBy: lastView ? (lastView.staffName ?? actorOf(lastView)) : null },
    };
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
