import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { fromSqlDateTime } from '../database/sql';
import type { FunnelStage } from '../portal-access/activation-filters';

export type ReportGrouping = 'provider' | 'tag' | 'month';

export interface FunnelCounts {
  /** Provider or tag id, month "YYYY-MM"; null for the total and for "none". */
  key: string | null;
  label: string;
  counts: Record<FunnelStage, number>;
  /** Days from the first invite to set-up, one per set-up patient (the median is taken from these). */
  setUpDays: number[];
}

/**
 * Per patient, in one pass over portal_tokens (+ their emails): the first invite, whether any
 * email was delivered, any link opened, and the first set-up. The same stages as
 * portal-access/activation-filters.ts's funnelConditionSql; the e2e test checks every report number
 * against the onboarding filter it links to.
 */
const PER_PATIENT = `SELECT t.patient_id,
         MIN(CASE WHEN t.purpose = 'invite' THEN t.created_at END) AS first_invite,
         MAX(CASE WHEN o.status = 'sent' THEN 1 ELSE 0 END) AS delivered,
         MAX(CASE WHEN t.opened_at IS NOT NULL THEN 1 ELSE 0 END) AS opened,
         MIN(t.used_at) AS first_used
    FROM portal_tokens t LEFT JOIN mail_outbox o ON o.portal_token_id = t.id
   GROUP BY t.patient_id`;

const INVITED = 'f.first_invite IS NOT NULL';
const DELIVERED = `${INVITED} AND f.delivered = 1`;
const OPENED = `${DELIVERED} AND f.opened = 1`;
const SET_UP = `${OPENED} AND pa.username IS NOT NULL`;
const SIGNED_IN = `${SET_UP} AND pa.first_login_at IS NOT NULL`;

const GROUPS: Record<ReportGrouping | 'total', { key: string; label: string; join: string }> = {
  total: { key: 'NULL', label: "'All patients'", join: '' },
  provider: {
    key: 'p.primary_provider_id',
    label: 'pr.name',
    join: 'LEFT JOIN providers pr ON pr.id = p.primary_provider_id',
  },
  tag: { key: 'tg.id', label: 'tg.name', join: 'JOIN patient_tags pt ON pt.patient_id = p.id JOIN tags tg ON tg.id = pt.tag_id' },
  // Text of a stored datetime starts "YYYY-MM" on both databases.
  month: { key: 'SUBSTR(CAST(f.first_invite AS CHAR), 1, 7)', label: 'SUBSTR(CAST(f.first_invite AS CHAR), 1, 7)', join: '' },
};

/** The activation funnel's numbers, set-based (one grouped query per table shown). */
@Injectable()
export class ActivationReportRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async funnel(grouping: ReportGrouping | 'total'): Promise<FunnelCounts[]> {
    const group = GROUPS[grouping];
    const count = (condition: string) => `SUM(CASE WHEN ${condition} THEN 1 ELSE 0 END)`;
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(
      `SELECT ${group.key} AS group_key, ${group.label === group.key ? 'NULL' : `MAX(${group.label})`} AS group_label,
              COUNT(*) AS enabled, ${count(INVITED)} AS invited, ${count(DELIVERED)} AS delivered,
              ${count(OPENED)} AS opened, ${count(SET_UP)} AS set_up, ${count(SIGNED_IN)} AS signed_in
         FROM portal_accounts pa
         JOIN patients p ON p.id = pa.patient_id
         LEFT JOIN (${PER_PATIENT}) f ON f.patient_id = pa.patient_id
         ${group.join}
        WHERE pa.access_enabled = 1
        ${grouping === 'total' ? '' : `GROUP BY ${group.key} ORDER BY ${group.key}`}`,
    );
    const days = await this.setUpDays(group);
    return rows.map((row) => {
      const key = row.group_key === null || row.group_key === undefined ? null : String(row.group_key);
      return {
        key,
        label: grouping === 'total' ? 'All patients' : String(row.group_label ?? key ?? ''),
        counts: {
          enabled: Number(row.enabled),
          invited: Number(row.invited),
          delivered: Number(row.delivered),
          opened: Number(row.opened),
          set_up: Number(row.set_up),
          signed_in: Number(row.signed_in),
        },
        setUpDays: days.get(key) ?? [],
      };
    });
  }

  /** First invite → set-up, in days, of every set-up patient, by group key. */
  private async setUpDays(group: (typeof GROUPS)[ReportGrouping | 'total']): Promise<Map<string | null, number[]>> {
    const rows: Array<{ group_key: unknown; first_invite: string | Date; first_used: string | Date }> =
      await this.dataSource.query(
        `SELECT ${group.key} AS group_key, f.first_invite, f.first_used
         FROM portal_accounts pa
         JOIN patients p ON p.id = pa.patient_id
         JOIN (${PER_PATIENT}) f ON f.patient_id = pa.patient_id
         ${group.join}
        WHERE pa.access_enabled = 1 AND ${SET_UP} AND f.first_used IS NOT NULL`,
      );
    const days = new Map<string | null, number[]>();
    for (const row of rows) {
      const key = row.group_key === null || row.group_key === undefined ? null : String(row.group_key);
      const span = (fromSqlDateTime(row.first_used)!.getTime() - fromSqlDateTime(row.first_invite)!.getTime()) / 86_400_000;
      if (!days.has(key)) days.set(key, []);
      days.get(key)!.push(Math.max(0, span));
    }
    return days;
  }
}
