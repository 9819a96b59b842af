import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { FUNNEL_STAGE_NUMBER } from '../patients/activation-funnel.repository';
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
 * Per grouping: the table and its group column (each report table is one pass over an index that leads with
 * the stage: ix_activation_funnel_provider / _month, ix_activation_funnel_tags_tag), and where the labels come
 * from (read apart: a few rows). The total reads the provider pass with the groups folded into one.
 */
const GROUPS: Record<ReportGrouping | 'total', { table: string; key: string; labels: string | null }> = {
  total: { table: 'activation_funnel', key: 'primary_provider_id', labels: null },
  provider: { table: 'activation_funnel', key: 'primary_provider_id', labels: 'SELECT id, name FROM providers' },
  tag: { table: 'activation_funnel_tags', key: 'tag_id', labels: 'SELECT id, name FROM tags' },
  month: { table: 'activation_funnel', key: 'invite_month', labels: null },
};

const REACHED = ['invited', 'delivered', 'opened', 'set_up', 'signed_in'] as const;

/**
 * The activation funnel's numbers from the summary the app keeps per patient (and per patient and tag) in the
 * same transaction as each change that moves a milestone (src/patients/activation-funnel.repository.ts): one
 * grouped query per table shown, counted by group, stage reached and set-up span, so the counts and the
 * medians' spans come from the same rows and patients with the same stage and span share one row. The stages
 * are portal-access/activation-filters.ts's funnelConditionSql: the e2e test checks every report number
 * against the onboarding filter it links to.
 */
@Injectable()
export class ActivationReportRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async funnel(grouping: ReportGrouping | 'total'): Promise<FunnelCounts[]> {
    const group = GROUPS[grouping];
    const [rows, labels]: [Array<Record<string, unknown>>, Map<string, string>] = await Promise.all([
      this.dataSource.query(
        `SELECT ${group.key} AS group_key, stage, span_ms, COUNT(*) AS n FROM ${group.table}
          WHERE stage >= ${FUNNEL_STAGE_NUMBER.enabled} GROUP BY stage, ${group.key}, span_ms`,
      ),
      this.labels(group.labels),
    ]);
    const groups = new Map<string | null, FunnelCounts>();
    for (const row of rows) {
      const key = grouping === 'total' || row.group_key === null || row.group_key === undefined ? null : String(row.group_key);
      if (!groups.has(key))
        groups.set(key, {
          key,
          label: key === null ? '' : (labels.get(key) ?? key),
          counts: Object.fromEntries(FUNNEL_STAGES.map((stage) => [stage, 0])) as Record<FunnelStage, number>,
          setUpDays: [],
        });
      const entry = groups.get(key)!;
      const n = Number(row.n);
      const stage = Number(row.stage);
      entry.counts.enabled += n;
      for (const reached of REACHED) if (stage >= FUNNEL_STAGE_NUMBER[reached]) entry.counts[reached] += n;
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
