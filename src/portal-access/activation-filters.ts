/**
 * The worklist's saved views and the activation funnel's stages (issue 17), each defined once as
 * SQL over `patients p` joined to `portal_accounts pa`. The onboarding filter uses them (so every
 * worklist count and report number links to the same patients on /portal-onboarding), the worklist
 * counts them and the activation report sums them.
 */
import type { SqlFragment } from './onboarding-filter';
import { SOURCE_LANGUAGE, translatorFor } from '../i18n/translations';

const DAY_MS = 86_400_000;

/** The onboarding filter's `worklist=` views, each defined below as SQL. */
export const WORKLIST_VIEWS = ['invited_7d', 'visit_not_active', 'email_problem', 'no_email_visit'] as const;
export type WorklistView = (typeof WORKLIST_VIEWS)[number];

/**
 * The worklist page's views: the ones above, and "Turned 18", which is the representatives' own onboarding
 * filter `turned18=yes` (issue 16, representative-rules.ts) rather than a condition of its own here.
 */
export const WORKLIST_PAGE_VIEWS = [...WORKLIST_VIEWS, 'turned_18'] as const;
export type WorklistPageView = (typeof WORKLIST_PAGE_VIEWS)[number];

/** The onboarding filter that lists a worklist page view's patients. */
export function worklistFilterOf(view: WorklistPageView): { worklist?: WorklistView; turned18?: 'yes' } {
  return view === 'turned_18' ? { turned18: 'yes' } : { worklist: view };
}

/** The funnel, each stage a subset of the one before. */
export const FUNNEL_STAGES = ['enabled', 'invited', 'delivered', 'opened', 'set_up', 'signed_in'] as const;
export type FunnelStage = (typeof FUNNEL_STAGES)[number];

/** In English for the report's CSV (locales/en/staff.json `activationReport.stage.*`); pages read the same keys in the staff language. */
export const FUNNEL_STAGE_LABELS = Object.fromEntries(
  FUNNEL_STAGES.map((stage) => [stage, translatorFor(SOURCE_LANGUAGE)(`staff:activationReport.stage.${stage}`)]),
) as Record<FunnelStage, string>;

const sqlTime = (date: Date) => date.toISOString().slice(0, 19).replace('T', ' ');
const noEmail = `(p.email IS NULL OR TRIM(p.email) = '')`;
const visitWithin7Days = (now: Date): SqlFragment => ({
  sql: 'p.next_appointment_at >= ? AND p.next_appointment_at < ?',
  params: [sqlTime(now), sqlTime(new Date(now.getTime() + 7 * DAY_MS))],
});
/** The latest invite/reset email of the patient (ix_mail_outbox_patient). */
const latestEmailStatus = `(SELECT o.status FROM mail_outbox o WHERE o.patient_id = p.id AND o.kind IN ('portal_invite', 'portal_reset') ORDER BY o.id DESC LIMIT 1)`;
/**
 * A patient's own link: a representative's link (issue 16) carries the patient's id too, but it sets up the
 * representative's account, so it never counts as the patient being invited, reached or set up.
 */
export const OWN_LINK_SQL = 't.representative_account_id IS NULL';
/** The patient's first own invite link (ix_portal_tokens_patient). */
export const FIRST_INVITE_SQL = `(SELECT MIN(t.created_at) FROM portal_tokens t WHERE t.patient_id = p.id AND t.purpose = 'invite' AND ${OWN_LINK_SQL})`;
/** An address that hard-bounced and is still the one on file. */
export const EMAIL_BOUNCED_SQL = `(pa.bounced_email IS NOT NULL AND pa.bounced_email = p.email)`;

export function worklistConditionSql(view: WorklistView, now: Date): SqlFragment {
  switch (view) {
    case 'invited_7d':
      return {
        sql: `(pa.access_enabled = 1 AND pa.username IS NULL AND pa.first_login_at IS NULL AND p.deceased = 0 AND ${FIRST_INVITE_SQL} <= ?)`,
        params: [sqlTime(new Date(now.getTime() - 7 * DAY_MS))],
      };
    case 'visit_not_active': {
      const visit = visitWithin7Days(now);
      return {
        sql: `(pa.first_login_at IS NULL AND p.deceased = 0 AND NOT ${noEmail} AND ${visit.sql})`,
        params: visit.params,
      };
    }
    case 'email_problem':
      return {
        sql: `(pa.access_enabled = 1 AND p.deceased = 0 AND pa.first_login_at IS NULL AND (${latestEmailStatus} IN ('failed', 'bounced') OR ${EMAIL_BOUNCED_SQL}))`,
        params: [],
      };
    case 'no_email_visit': {
      const visit = visitWithin7Days(now);
      return { sql: `(p.deceased = 0 AND ${noEmail} AND ${visit.sql})`, params: visit.params };
    }
  }
}

/**
 * Patients who reached a funnel stage (each stage implies the ones before it, as the report counts them), by their
 * own links only. The report computes the same stages in one grouped pass (src/activation/activation-report.repository.ts).
 */
export function funnelConditionSql(stage: FunnelStage): string {
  const invited = `EXISTS (SELECT 1 FROM portal_tokens t WHERE t.patient_id = p.id AND t.purpose = 'invite' AND ${OWN_LINK_SQL})`;
  const delivered = `EXISTS (SELECT 1 FROM portal_tokens t JOIN mail_outbox o ON o.portal_token_id = t.id WHERE t.patient_id = p.id AND ${OWN_LINK_SQL} AND o.status = 'sent')`;
  const opened = `EXISTS (SELECT 1 FROM portal_tokens t WHERE t.patient_id = p.id AND ${OWN_LINK_SQL} AND t.opened_at IS NOT NULL)`;
  const setUp = 'pa.username IS NOT NULL';
  const signedIn = 'pa.first_login_at IS NOT NULL';
  const chain: Record<FunnelStage, string[]> = {
    enabled: [],
    invited: [invited],
    delivered: [invited, delivered],
    opened: [invited, delivered, opened],
    set_up: [invited, delivered, opened, setUp],
    signed_in: [invited, delivered, opened, setUp, signedIn],
  };
  return `(${['pa.access_enabled = 1', ...chain[stage]].join(' AND ')})`;
}

/** "2026-11": patients whose first invite was in that calendar month (UTC). */
export function firstInviteMonthSql(month: string): SqlFragment {
  const [year, m] = month.split('-').map(Number);
  const start = new Date(Date.UTC(year, m - 1, 1));
  const end = new Date(Date.UTC(year, m, 1));
  return { sql: `(${FIRST_INVITE_SQL} >= ? AND ${FIRST_INVITE_SQL} < ?)`, params: [sqlTime(start), sqlTime(end)] };
}
