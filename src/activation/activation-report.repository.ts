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
    const grouped = grouping === 'total' ? '' : `GROUP BY ${group.key}`;
    const label = group.label === group.key ? 'NULL' : `MAX(${group.label})`;
    // Two set-based passes: the enabled patients per group, and the later stages driven by the
    // patients who have links (the per-patient table first, so it is built once, not per patient).
    const [enabledRows, stageRows]: Array<Array<Record<string, unknown>>> = await Promise.all([
      grouping === 'month'
        ? this.dataSource.query(
            'SELECT NULL AS group_key, NULL AS group_label, COUNT(*) AS enabled FROM portal_accounts pa WHERE pa.access_enabled = 1',
          )
        : this.dataSource.query(
            `SELECT ${group.key} AS group_key, ${label} AS group_label, COUNT(*) AS enabled
               FROM portal_accounts pa JOIN patients p ON p.id = pa.patient_id ${group.join}
              WHERE pa.access_enabled = 1 ${grouped}`,
          ),
      this.dataSource.query(
        `SELECT ${group.key} AS group_key, ${label} AS group_label, COUNT(*) AS with_links,
                ${count(INVITED)} AS invited, ${count(DELIVERED)} AS delivered, ${count(OPENED)} AS opened,
                ${count(SET_UP)} AS set_up, ${count(SIGNED_IN)} AS signed_in
           FROM (${PER_PATIENT}) f
           JOIN portal_accounts pa ON pa.patient_id = f.patient_id
           JOIN patients p ON p.id = f.patient_id
           ${group.join}
          WHERE pa.access_enabled = 1 ${grouped}`,
      ),
    ]);
    const days = await this.setUpDays(group);
    const keyOf = (row: Record<string, unknown>) =>
      row.group_key === null || row.group_key === undefined ? null : String(row.group_key);
    const groups = new Map<string | null, FunnelCounts>();
    const entry = (row: Record<string, unknown>) => {
      const key = grouping === 'total' ? null : keyOf(row);
      if (!groups.has(key))
        groups.set(key, {
          key,
          label: grouping === 'total' ? 'All patients' : String(row.group_label ?? key ?? ''),
          counts: { enabled: 0, invited: 0, delivered: 0, opened: 0, set_up: 0, signed_in: 0 },
          setUpDays: days.get(key) ?? [],
        });
      return groups.get(key)!;
    };
    for (const row of enabledRows) entry(row).counts.enabled = Number(row.enabled);
    for (const row of stageRows) {
      const counts = entry(row).counts;
      for (const stage of ['invited', 'delivered', 'opened', 'set_up', 'signed_in'] as const)
        counts[stage] = Number(row[stage] ?? 0);
      // By month the enabled patients of a month are those first invited in it; the rest stay in "not invited yet".
      if (grouping === 'month' && keyOf(row) !== null) {
        counts.enabled = Number(row.with_links);
        groups.get(null)!.counts.enabled -= Number(row.with_links);
      }
    }
    const order = (a: FunnelCounts, b: FunnelCounts) =>
      a.key === null
        ? 1
        : b.key === null
          ? -1
          : grouping === 'month'
            ? a.key.localeCompare(b.key)
            : a.label.localeCompare(b.label);
    return [...groups.values()].filter((g) => g.counts.enabled > 0 || g.counts.invited > 0).sort(order);
  }

  /** First invite → set-up, in days, of every set-up patient, by group key. */
  private async setUpDays(group: (typeof GROUPS)[ReportGrouping | 'total']): Promise<Map<string | null, number[]>> {
    const rows: Array<{ group_key: unknown; first_invite: string | Date; first_used: string | Date }> =
      await this.dataSource.query(
        `SELECT ${group.key} AS group_key, f.first_invite, f.first_used
         FROM (${PER_PATIENT}) f
         JOIN portal_accounts pa ON pa.patient_id = f.patient_id
         JOIN patients p ON p.id = f.patient_id
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
