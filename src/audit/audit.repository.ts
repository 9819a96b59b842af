import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { fromSqlDateTime, insertRows, placeholders, toSqlDateTime } from '../database/sql';
import type { AuditContext } from './audit-context';

/** One row to append (the actor comes from the context). */
export interface NewAuditEvent {
  action: string;
  outcome: 'success' | 'failure' | 'denied';
  patientId: number | null;
  batchId: string | null;
  details: Record<string, unknown> | null;
}

/** What the audit page filters by; every field narrows. */
export interface AuditEventQuery {
  patientId?: number;
  /** Any of these patients; an empty list matches nothing (never "everything"). */
  patientIds?: number[];
  staffUserId?: number;
  /** What a representative did on their own account (actor type 'proxy'). */
  representativeAccountId?: number;
  action?: string;
  /** Inclusive, UTC dates (YYYY-MM-DD). */
  from?: string;
  to?: string;
  /** Keyset: events older than this id. */
  before?: string;
  excludeActions?: string[];
  /** Only these actions. */
  actions?: string[];
}

/** An audit row with the names the page shows. */
export interface AuditEventRow {
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

/** audit_events: append-only (this repository has no UPDATE or DELETE), and the only place its SQL lives. */
@Injectable()
export class AuditRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Appends rows with one actor in the caller's transaction. */
  async recordMany(
    context: AuditContext,
    events: NewAuditEvent[],
    at: Date,
    db: EntityManager = this.dataSource.manager,
  ): Promise<void> {
    if (events.length === 0) return;
    const now = toSqlDateTime(at);
    // Plain multi-row INSERTs: bulk actions write thousands of rows, and the ORM's per-row work showed in the bench.
    await insertRows(
      db,
      'audit_events',
      [
        'occurred_at',
        'actor_type',
        'actor_id',
        'actor_label',
        'action',
        'outcome',
        'patient_id',
        'batch_id',
        'ip',
        'user_agent',
        'details',
      ],
      events.map((event) => [
        now,
        context.actorType,
        context.actorId,
        context.actorLabel,
        event.action,
        event.outcome,
        event.patientId,
        event.batchId,
        context.ip,
        context.userAgent,
        event.details ? JSON.stringify(event.details) : null,
      ]),
    );
  }

  /** Patients of one bulk action's rows by this staff member (ix_audit_batch). */
  async patientsOfBatch(
    batchId: string,
    action: string,
    staffId: number,
    db: EntityManager = this.dataSource.manager,
  ): Promise<number[]> {
    const rows: { patient_id: number | string }[] = await db.query(
      "SELECT patient_id FROM audit_events WHERE batch_id = ? AND action = ? AND actor_type = 'staff' AND actor_id = ? AND patient_id IS NOT NULL",
      [batchId, action, staffId],
    );
    return rows.map((row) => Number(row.patient_id));
  }

  /** One batch's rows of these actions by one staff member, in order, with their details (a batch report). */
  async eventsOfBatch(
    batchId: string,
    actions: string[],
    staffId: number,
  ): Promise<Array<{ patientId: number; action: string; details: Record<string, unknown> | null }>> {
    const rows: { patient_id: number | string; action: string; details: string | null }[] = await this.dataSource.query(
      `SELECT patient_id, action, details FROM audit_events WHERE batch_id = ? AND action IN (${actions.map(() => '?').join(', ')}) AND actor_type = 'staff' AND actor_id = ? AND patient_id IS NOT NULL ORDER BY id`,
      [batchId, ...actions, staffId],
    );
    return rows.map((row) => ({
      patientId: Number(row.patient_id),
      action: row.action,
      details: row.details ? (JSON.parse(row.details) as Record<string, unknown>) : null,
    }));
  }

  /** Newest first, at most `limit` rows. */
  async find(filter: AuditEventQuery, limit: number): Promise<AuditEventRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, ...values: unknown[]) => {
      where.push(sql);
      params.push(...values);
    };
    if (filter.patientId !== undefined) add('e.patient_id = ?', filter.patientId);
    if (filter.patientIds) {
      if (!filter.patientIds.length) add('1 = 0');
      else add(`e.patient_id IN (${placeholders(filter.patientIds.length)})`, ...filter.patientIds);
    }
    if (filter.excludeActions?.length)
      add(`e.action NOT IN (${placeholders(filter.excludeActions.length)})`, ...filter.excludeActions);
    if (filter.actions?.length) add(`e.action IN (${placeholders(filter.actions.length)})`, ...filter.actions);
    if (filter.staffUserId !== undefined) add("e.actor_type = 'staff' AND e.actor_id = ?", filter.staffUserId);
    if (filter.representativeAccountId !== undefined)
      add("e.actor_type = 'proxy' AND e.actor_id = ?", filter.representativeAccountId);
    if (filter.action) add('e.action = ?', filter.action);
    if (filter.from) add('e.occurred_at >= ?', `${filter.from} 00:00:00`);
    if (filter.to) add('e.occurred_at < ?', toSqlDateTime(new Date(Date.parse(`${filter.to}T00:00:00Z`) + 86_400_000)));
    if (filter.before) add('e.id < ?', filter.before);
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT e.id, e.occurred_at, e.actor_type, e.actor_id, e.actor_label, e.action, e.outcome, e.patient_id, e.batch_id, e.ip, e.details,
              p.first_name, p.last_name, s.name AS staff_name
         FROM audit_events e LEFT JOIN patients p ON p.id = e.patient_id
         LEFT JOIN staff_users s ON e.actor_type = 'staff' AND s.id = e.actor_id
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY e.id DESC LIMIT ${Math.max(0, Math.floor(limit))}`,
      params,
    );
    return rows.map((row) => ({
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
  }

  async countFor(patientId: number, action: string): Promise<number> {
    const rows: Array<{ n: number | string }> = await this.dataSource.query(
      'SELECT COUNT(*) AS n FROM audit_events WHERE patient_id = ? AND action = ?',
      [patientId, action],
    );
    return Number(rows[0]?.n ?? 0);
  }

  /** Distinct action names, sorted. */
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
