import { Injectable } from '@nestjs/common';
import { AuditEventQuery, AuditEventRow, AuditRepository } from './audit.repository';
import { actorOf, type ViewSummary } from './patient-activity';

const RECORD_VIEWED = 'patient.viewed';

export type AuditFilter = AuditEventQuery;
export type AuditRow = AuditEventRow;

export interface AuditPage {
  events: AuditRow[];
  /** Id to pass as `before` for the next (older) page, or null at the end. */
  nextBefore: string | null;
}

/** Reads the audit trail, newest first, with keyset pages (the table only ever grows). */
@Injectable()
export class AuditQueryService {
  constructor(private readonly events: AuditRepository) {}

  async page(filter: AuditFilter, pageSize = 50): Promise<AuditPage> {
    const rows = await this.events.find(filter, pageSize + 1);
    const events = rows.slice(0, pageSize);
    return { events, nextBefore: rows.length > pageSize ? events[events.length - 1].id : null };
  }

  /**
   * A patient's activity for the dashboard: the latest events other than record views, and
   * the views folded into a count with the last one (a busy record is opened many times a day).
   */
  async patientActivity(patientId: number, limit = 30): Promise<{ events: AuditRow[]; views: ViewSummary }> {
    const [page, counted, last] = await Promise.all([
      this.page({ patientId, excludeActions: [RECORD_VIEWED] }, limit),
      this.events.countFor(patientId, RECORD_VIEWED),
      this.page({ patientId, action: RECORD_VIEWED }, 1),
    ]);
    const lastView = last.events[0];
    return {
      events: page.events,
      views: {
        count: counted,
        lastAt: lastView?.occurredAt ?? null,
        lastBy: lastView ? (lastView.staffName ?? actorOf(lastView)) : null,
      },
    };
  }

  /** The latest events of these actions for one patient's account (the patient's own access history). */
  async accountHistory(patientId: number, actions: string[], limit = 20): Promise<AuditRow[]> {
    return (await this.page({ patientId, actions }, limit)).events;
  }

  /** A representative's own account: what they did with it (their sign-ins, password, sessions). */
  async representativeHistory(representativeAccountId: number, actions: string[], limit = 20): Promise<AuditRow[]> {
    return (await this.page({ representativeAccountId, actions }, limit)).events;
  }

  /** Distinct action names for the filter's drop-down. */
  async actions(): Promise<string[]> {
    return this.events.actions();
  }
}
