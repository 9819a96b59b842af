import { Injectable } from '@nestjs/common';
import { FUNNEL_STAGE_LABELS, FUNNEL_STAGES, type FunnelStage } from '../portal-access/activation-filters';
import { queryString } from '../portal-access/onboarding-filter';
import { ONBOARDING_PATH } from '../portal-access/onboarding-view';
import { SOURCE_LANGUAGE, translatorFor } from '../i18n/translations';
import { ActivationReportRepository, type FunnelCounts, type ReportGrouping } from './activation-report.repository';

export const REPORT_GROUPINGS: readonly ReportGrouping[] = ['provider', 'tag', 'month'];
const en = translatorFor(SOURCE_LANGUAGE);
/** In English for the CSV (locales/en/staff.json `activationReport.by.*`); the page reads the same keys in the staff language. */
export const GROUPING_LABELS = Object.fromEntries(
  REPORT_GROUPINGS.map((by) => [by, en(`staff:activationReport.by.${by}.label`)]),
) as Record<ReportGrouping, string>;
const ALL_PATIENTS = en('staff:activationReport.allPatients');

export interface ReportCell {
  stage: FunnelStage;
  count: number;
  /** Share of the group's enabled patients, 0–100, rounded. */
  rate: number;
  /** The same patients on the onboarding page; null when no filter can name them (e.g. "no provider"). */
  href: string | null;
}

export interface ReportRow {
  /** The group's name (a provider, a tag, a month), or the English words of the total and "none" rows (for the CSV). */
  label: string;
  /** The total row, a group, or the patients in no group ("No tag"): the page words the last two in the staff language. */
  kind: 'total' | 'group' | 'none';
  cells: ReportCell[];
  medianDaysToSetUp: number | null;
}

/** Bar chart geometry (server-rendered SVG: no client-side library, nothing for the CSP to allow). */
export interface ChartBar {
  stage: FunnelStage;
  label: string;
  count: number;
  rate: number;
  y: number;
  width: number;
  href: string | null;
}

export const CHART = { width: 640, barHeight: 26, gap: 8, labelWidth: 150, countWidth: 110 } as const;

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const value = sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return Math.round(value * 10) / 10;
}

/** The activation report (issue 17): the funnel as counts and rates, by provider, tag or month of first invite. */
@Injectable()
export class ActivationReportService {
  constructor(private readonly repository: ActivationReportRepository) {}

  async report(by: ReportGrouping) {
    // Every patient is in exactly one provider or month group ("none" included), so their sum is the total
    // without a second pass; a patient may have several tags, so "by tag" reads the total on its own.
    const [groups, [tagTotal]] = await Promise.all([
      this.repository.funnel(by),
      by === 'tag' ? this.repository.funnel('total') : Promise.resolve([] as FunnelCounts[]),
    ]);
    const total = by === 'tag' ? tagTotal : sumOf(groups);
    const totalRow = toRow(total ?? emptyFunnel(), null, by, true);
    return {
      by,
      byLabel: GROUPING_LABELS[by],
      groupings: REPORT_GROUPINGS.map((key) => ({ key, label: GROUPING_LABELS[key] })),
      stages: FUNNEL_STAGES.map((stage) => ({ stage, label: FUNNEL_STAGE_LABELS[stage] })),
      total: totalRow,
      rows: groups.map((group) => toRow(group, group.key, by)),
      chart: chart(totalRow),
    };
  }

  /** The CSV: one line per group (and the total), counts and rates side by side. */
  async csv(by: ReportGrouping): Promise<{ header: string[]; rows: unknown[][] }> {
    const report = await this.report(by);
    const header = [
      GROUPING_LABELS[by],
      ...FUNNEL_STAGES.flatMap((stage) => [FUNNEL_STAGE_LABELS[stage], `${FUNNEL_STAGE_LABELS[stage]} %`]),
      'Median days invite to set-up',
    ];
    const line = (row: ReportRow) => [
      row.label,
      ...row.cells.flatMap((cell) => [cell.count, cell.rate]),
      row.medianDaysToSetUp ?? '',
    ];
    return { header, rows: [line(report.total), ...report.rows.map(line)] };
  }
}

/** The total of groups that do not overlap (each patient in one of them). */
function sumOf(groups: FunnelCounts[]): FunnelCounts | undefined {
  if (groups.length === 0) return undefined;
  const total = emptyFunnel();
  for (const group of groups) {
    for (const stage of FUNNEL_STAGES) total.counts[stage] += group.counts[stage];
    total.setUpDays.push(...group.setUpDays);
  }
  return total;
}

function emptyFunnel(): FunnelCounts {
  return {
    key: null,
    label: '',
    counts: { enabled: 0, invited: 0, delivered: 0, opened: 0, set_up: 0, signed_in: 0 },
    setUpDays: [],
  };
}

function toRow(group: FunnelCounts, key: string | null, by: ReportGrouping, isTotal = false): ReportRow {
  const kind = isTotal ? 'total' : key === null ? 'none' : 'group';
  const label = kind === 'total' ? ALL_PATIENTS : kind === 'none' ? en(`staff:activationReport.by.${by}.none`) : group.label;
  const scope: [string, string][] | null = isTotal
    ? []
    : key === null
      ? null
      : [[by === 'provider' ? 'provider' : by === 'tag' ? 'tag' : 'invitedMonth', key]];
  const enabled = group.counts.enabled;
  return {
    label,
    kind,
    cells: FUNNEL_STAGES.map((stage) => ({
      stage,
      count: group.counts[stage],
      rate: enabled ? Math.round((group.counts[stage] / enabled) * 100) : 0,
      href: scope ? `${ONBOARDING_PATH}?${queryString([['funnel', stage], ...scope])}` : null,
    })),
    medianDaysToSetUp: median(group.setUpDays),
  };
}

function chart(total: ReportRow) {
  const max = Math.max(1, total.cells[0].count);
  const barArea = CHART.width - CHART.labelWidth - CHART.countWidth;
  const bars: ChartBar[] = total.cells.map((cell, i) => ({
    stage: cell.stage,
    label: FUNNEL_STAGE_LABELS[cell.stage],
    count: cell.count,
    rate: cell.rate,
    y: i * (CHART.barHeight + CHART.gap),
    width: Math.round((cell.count / max) * barArea),
    href: cell.href,
  }));
  return { ...CHART, barArea, height: bars.length * (CHART.barHeight + CHART.gap), bars };
}
