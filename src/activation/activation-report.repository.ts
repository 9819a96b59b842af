import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { isSqliteManager } from '../database/sql';
import { FUNNEL_STAGES, OWN_LINK_SQL, type FunnelStage } from '../portal-access/activation-filters';

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
 * Per patient, in one pass over portal_tokens in index order (ix_portal_tokens_funnel covers every column read,
 * so no table rows and no sort) and each link's email (ix_mail_outbox_token_status, index only): the first own
 * invite, whether an own link's email was delivered, whether one was opened, and the first own link used. Only the
 * patient's own links count (a representative's carries the patient's id too); the condition sits inside the
 * aggregates rather than in a WHERE so the planner keeps the covering index. The same stages as
 * portal-access/activation-filters.ts's funnelConditionSql: the e2e test checks every report number against the
 * onboarding filter it links to.
 */
const own = (condition: string) => `${OWN_LINK_SQL} AND ${condition}`;
const PER_PATIENT = `SELECT t.patient_id,
         MIN(CASE WHEN ${own("t.purpose = 'invite'")} THEN t.created_at END) AS first_invite,
         MAX(CASE WHEN ${own("o.status = 'sent'")} THEN 1 ELSE 0 END) AS delivered,
         MAX(CASE WHEN ${own('t.opened_at IS NOT NULL')} THEN 1 ELSE 0 END) AS opened,
         MIN(CASE WHEN ${OWN_LINK_SQL} THEN t.used_at END) AS first_used
    FROM portal_tokens t LEFT JOIN mail_outbox o ON o.portal_token_id = t.id
   GROUP BY t.patient_id`;

const INVITED = 'f.first_invite IS NOT NULL';
const DELIVERED = `${INVITED} AND f.delivered = 1`;
const OPENED = `${DELIVERED} AND f.opened = 1`;
const SET_UP = `${OPENED} AND pa.username IS NOT NULL`;
const SIGNED_IN = `${SET_UP} AND pa.first_login_at IS NOT NULL`;

/** Per grouping: the group key, the join it needs, and where its labels come from (read apart: a few rows). */
const GROUPS: Record<ReportGrouping | 'total', { key: string; join: string; labels: string | null }> = {
  total: { key: 'NULL', join: '', labels: null },
  provider: {
    key: 'p.primary_provider_id',
    join: 'JOIN patients p ON p.id = pa.patient_id',
    labels: 'SELECT id, name FROM providers',
  },
  tag: { key: 'pt.tag_id', join: 'JOIN patient_tags pt ON pt.patient_id = pa.patient_id', labels: 'SELECT id, name FROM tags' },
  // Text of a stored datetime starts "YYYY-MM" on both databases; never invited is the null group.
  month: { key: 'SUBSTR(CAST(f.first_invite AS CHAR), 1, 7)', join: '', labels: null },
};

/** The activation funnel's numbers, set-based: one grouped query per table shown. */
@Injectable()
export class ActivationReportRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async funnel(grouping: ReportGrouping | 'total'): Promise<FunnelCounts[]> {
    const group = GROUPS[grouping];
    const flag = (condition: string) => `CASE WHEN ${condition} THEN 1 ELSE 0 END`;
    const spanMs = isSqliteManager(this.dataSource)
      ? 'CAST(ROUND((julianday(f.first_used) - julianday(f.first_invite)) * 86400000) AS INTEGER)'
      : 'TIMESTAMPDIFF(MICROSECOND, f.first_invite, f.first_used) DIV 1000';
    const span = `CASE WHEN ${SET_UP} AND f.first_used IS NOT NULL THEN ${spanMs} END`;
    const flags = [INVITED, DELIVERED, OPENED, SET_UP, SIGNED_IN].map(flag);
    // One pass over the enabled patients (the per-patient link table built once and joined on its key),
    // counted by group, stage reached and set-up span: the counts and the medians' spans come from the same
    // rows, and patients with the same stages and span share one row.
    const [rows, labels]: [Array<Record<string, unknown>>, Map<string, string>] = await Promise.all([
      this.dataSource.query(
        `SELECT ${group.key} AS group_key, ${flags[0]} AS invited, ${flags[1]} AS delivered, ${flags[2]} AS opened,
                ${flags[3]} AS set_up, ${flags[4]} AS signed_in, ${span} AS span_ms, COUNT(*) AS n
           FROM portal_accounts pa ${group.join}
           LEFT JOIN (${PER_PATIENT}) f ON f.patient_id = pa.patient_id
          WHERE pa.access_enabled = 1
          GROUP BY ${group.key === 'NULL' ? '' : `${group.key}, `}${flags.join(', ')}, ${span}`,
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

  private async labels(sql: string | null): Promise<Map<string, string>> {
    if (!sql) return new Map();
    const rows: Array<{ id: unknown; name: unknown }> = await this.dataSource.query(sql);
    return new Map(rows.map((row) => [String(row.id), String(row.name)]));
  }
}
