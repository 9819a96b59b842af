import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { isSqliteManager } from '../database/sql';
import { FUNNEL_STAGES, type FunnelStage } from '../portal-access/activation-filters';

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
 * The funnel's stages over `activation_summary s` (one row per patient, kept by triggers in the same
 * transaction as every link, email and account change: migrations/1767700000000-ActivationSummary.ts).
 * Only the patient's own links count; a representative's never does. The same stages as
 * portal-access/activation-filters.ts's funnelConditionSql over the raw tables: the e2e tests check
 * every report number against the onboarding filter it links to, and against a straight computation.
 */
const ENABLED = 's.access_enabled = 1';
const INVITED = 's.first_invite_at IS NOT NULL';
const DELIVERED = `${INVITED} AND s.sent_emails > 0`;
const OPENED = `${DELIVERED} AND s.first_opened_at IS NOT NULL`;
const SET_UP = `${OPENED} AND s.has_username = 1`;
const SIGNED_IN = `${SET_UP} AND s.first_login_at IS NOT NULL`;

// Text of a stored datetime starts "YYYY-MM" on both databases.
const MONTH = 'SUBSTR(CAST(s.first_invite_at AS CHAR), 1, 7)';

/** Per grouping: the group key over the summary, the join it needs, and where its labels come from. */
const GROUPS: Record<ReportGrouping | 'total', { key: string; join: string; labels: string | null }> = {
  total: { key: 'NULL', join: '', labels: null },
  provider: { key: 's.provider_id', join: '', labels: 'SELECT id, name FROM providers' },
  tag: { key: 'pt.tag_id', join: 'JOIN patient_tags pt ON pt.patient_id = s.patient_id', labels: 'SELECT id, name FROM tags' },
  month: { key: MONTH, join: '', labels: null },
};

/** The activation funnel's numbers, set-based, from the maintained summary (one grouped query per table shown). */
@Injectable()
export class ActivationReportRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async funnel(grouping: ReportGrouping | 'total'): Promise<FunnelCounts[]> {
    const group = GROUPS[grouping];
    const count = (condition: string) => `SUM(CASE WHEN ${condition} THEN 1 ELSE 0 END)`;
    const grouped = grouping === 'total' ? '' : `GROUP BY ${group.key}`;
    // One pass over the enabled patients' summary rows (an index range on access_enabled), plus the
    // set-up times for the medians and the group labels, side by side.
    const [rows, days, labels] = await Promise.all([
      this.dataSource.query(
        `SELECT ${group.key} AS group_key, COUNT(*) AS enabled, ${count(INVITED)} AS invited, ${count(DELIVERED)} AS delivered,
                ${count(OPENED)} AS opened, ${count(SET_UP)} AS set_up, ${count(SIGNED_IN)} AS signed_in
           FROM activation_summary s ${group.join}
          WHERE ${ENABLED} ${grouped}`,
      ) as Promise<Array<Record<string, unknown>>>,
      this.setUpDays(group),
      this.labels(group.labels),
    ]);
    const keyOf = (row: Record<string, unknown>) =>
      row.group_key === null || row.group_key === undefined ? null : String(row.group_key);
    const groups: FunnelCounts[] = rows.map((row) => {
      const key = grouping === 'total' ? null : keyOf(row);
      const counts = Object.fromEntries(FUNNEL_STAGES.map((stage) => [stage, Number(row[stage] ?? 0)])) as Record<
        FunnelStage,
        number
      >;
      const label = grouping === 'total' ? 'All patients' : key === null ? '' : (labels.get(key) ?? key);
      return { key, label, counts, setUpDays: days.get(key) ?? [] };
    });
    const order = (a: FunnelCounts, b: FunnelCounts) =>
      a.key === null
        ? 1
        : b.key === null
          ? -1
          : grouping === 'month'
            ? a.key.localeCompare(b.key)
            : a.label.localeCompare(b.label);
    return groups.filter((g) => g.counts.enabled > 0 || g.counts.invited > 0).sort(order);
  }

  /** Names of providers or tags by id (a few dozen rows). */
  private async labels(sql: string | null): Promise<Map<string, string>> {
    if (!sql) return new Map();
    const rows: Array<{ id: unknown; name: string }> = await this.dataSource.query(sql);
    return new Map(rows.map((row) => [String(row.id), String(row.name)]));
  }

  /** First invite → set-up, in days, of every set-up patient, by group key (the span computed by the database). */
  private async setUpDays(group: (typeof GROUPS)[ReportGrouping | 'total']): Promise<Map<string | null, number[]>> {
    const spanMs = isSqliteManager(this.dataSource)
      ? 'CAST(ROUND((julianday(s.first_used_at) - julianday(s.first_invite_at)) * 86400000) AS INTEGER)'
      : 'TIMESTAMPDIFF(MICROSECOND, s.first_invite_at, s.first_used_at) DIV 1000';
    const rows: Array<{ group_key: unknown; span_ms: number | string }> = await this.dataSource.query(
      `SELECT ${group.key} AS group_key, ${spanMs} AS span_ms
         FROM activation_summary s ${group.join}
        WHERE ${ENABLED} AND ${SET_UP} AND s.first_used_at IS NOT NULL`,
    );
    const days = new Map<string | null, number[]>();
    for (const row of rows) {
      const key = row.group_key === null || row.group_key === undefined ? null : String(row.group_key);
      if (!days.has(key)) days.set(key, []);
      days.get(key)!.push(Math.max(0, Number(row.span_ms) / 86_400_000));
    }
    return days;
  }
}
