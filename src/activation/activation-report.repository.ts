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
    const flag = (condition: string) => `CASE WHEN ${condition} THEN 1 ELSE 0 END`;
    const spanMs = isSqliteManager(this.dataSource)
      ? 'CAST(ROUND((julianday(s.first_used_at) - julianday(s.first_invite_at)) * 86400000) AS INTEGER)'
      : 'TIMESTAMPDIFF(MICROSECOND, s.first_invite_at, s.first_used_at) DIV 1000';
    // One pass over the enabled patients' summary rows (an index range on access_enabled), counted by
    // group, stage reached and set-up span (first invite → first use, for the medians): the counts and
    // the spans come from the same rows, and patients with the same stages and span share one row.
    const [rows, labels]: [Array<Record<string, unknown>>, Map<string, string>] = await Promise.all([
      this.dataSource.query(
        `SELECT ${group.key} AS group_key, ${flag(INVITED)} AS invited, ${flag(DELIVERED)} AS delivered,
                ${flag(OPENED)} AS opened, ${flag(SET_UP)} AS set_up, ${flag(SIGNED_IN)} AS signed_in,
                CASE WHEN ${SET_UP} AND s.first_used_at IS NOT NULL THEN ${spanMs} END AS span_ms, COUNT(*) AS n
           FROM activation_summary s ${group.join}
          WHERE ${ENABLED}
          GROUP BY ${group.key === 'NULL' ? '' : `${group.key}, `}${flag(INVITED)}, ${flag(DELIVERED)}, ${flag(OPENED)},
                   ${flag(SET_UP)}, ${flag(SIGNED_IN)}, CASE WHEN ${SET_UP} AND s.first_used_at IS NOT NULL THEN ${spanMs} END`,
      ),
      this.labels(group.labels),
    ]);
    const groups = new Map<string | null, FunnelCounts>();
    for (const row of rows) {
      const key = grouping === 'total' || row.group_key === null || row.group_key === undefined ? null : String(row.group_key);
      if (!groups.has(key))
        groups.set(key, {
          key,
          label: grouping === 'total' ? 'All patients' : key === null ? '' : (labels.get(key) ?? key),
          counts: Object.fromEntries(FUNNEL_STAGES.map((stage) => [stage, 0])) as Record<FunnelStage, number>,
          setUpDays: [],
        });
      const entry = groups.get(key)!;
      const n = Number(row.n);
      entry.counts.enabled += n;
      for (const stage of ['invited', 'delivered', 'opened', 'set_up', 'signed_in'] as const)
        if (Number(row[stage]) === 1) entry.counts[stage] += n;
      if (row.span_ms !== null && row.span_ms !== undefined)
        for (let i = 0; i < n; i++) entry.setUpDays.push(Math.max(0, Number(row.span_ms) / 86_400_000));
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

  /** Names of providers or tags by id (a few dozen rows). */
  private async labels(sql: string | null): Promise<Map<string, string>> {
    if (!sql) return new Map();
    const rows: Array<{ id: unknown; name: string }> = await this.dataSource.query(sql);
    return new Map(rows.map((row) => [String(row.id), String(row.name)]));
  }
}
