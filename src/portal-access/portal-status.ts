import { SOURCE_LANGUAGE, translatorFor } from '../i18n/translations';
/**
 * The one definition of a patient's Portal status (DESIGN.md, "Portal status").
 * `portalStatus` is used for rendering; `portalStatusSql` is the same rule for
 * filters and counts. test/unit/portal-status.spec.ts proves they agree.
 */
export type PortalStatus = 'red' | 'gray' | 'orange' | 'green';

export const PORTAL_STATUSES: readonly PortalStatus[] = ['red', 'gray', 'orange', 'green'];

export interface PortalStatusFields {
  accessEnabled: boolean;
  invitedAt: Date | string | null;
  firstLoginAt: Date | string | null;
}

export function portalStatus(account: PortalStatusFields | null | undefined): PortalStatus {
  if (!account || !account.accessEnabled) return 'red';
  if (account.firstLoginAt) return 'green';
  if (account.invitedAt) return 'orange';
  return 'gray';
}

/**
 * A label and its description in English, from locales/en/staff.json (<group>.<name>.label/description): the one
 * place of the text. Pages look the keys up in the staff language; the CSV export keeps English.
 */
export function englishLabels<Name extends string>(group: string, names: readonly Name[]) {
  const en = translatorFor(SOURCE_LANGUAGE);
  return Object.fromEntries(
    names.map((name) => [
      name,
      { label: en(`staff:${group}.${name}.label`), description: en(`staff:${group}.${name}.description`) },
    ]),
  ) as Record<Name, { label: string; description: string }>;
}

/** Text shown next to the colour (never colour alone) and used as its accessible name (staff.json status.<colour>). */
export const PORTAL_STATUS_LABELS = englishLabels('status', PORTAL_STATUSES);

/** The same rule as one SQL CASE over a portal_accounts alias; works on MySQL/MariaDB and SQLite. */
export function portalStatusSql(alias = 'pa'): string {
  return (
    `CASE WHEN ${alias}.access_enabled = 0 THEN 'red' ` +
    `WHEN ${alias}.first_login_at IS NOT NULL THEN 'green' ` +
    `WHEN ${alias}.invited_at IS NOT NULL THEN 'orange' ` +
    `ELSE 'gray' END`
  );
}

/** A WHERE condition selecting one status; index-friendly (no CASE) for the filters. */
export function portalStatusConditionSql(status: PortalStatus, alias = 'pa'): string {
  switch (status) {
    case 'red':
      return `${alias}.access_enabled = 0`;
    case 'gray':
      return `(${alias}.access_enabled = 1 AND ${alias}.first_login_at IS NULL AND ${alias}.invited_at IS NULL)`;
    case 'orange':
      return `(${alias}.access_enabled = 1 AND ${alias}.first_login_at IS NULL AND ${alias}.invited_at IS NOT NULL)`;
    case 'green':
      return `(${alias}.access_enabled = 1 AND ${alias}.first_login_at IS NOT NULL)`;
  }
}

/**
 * An orange patient whose invite cannot work (issue 13, "Invite problems in sight"): the
 * latest email failed for good, or the latest link expired unused. Staff see it in the row
 * ("Invite expired") and filter by it; the colour stays orange. Like the colour, it is
 * defined once here as a pure function and once as SQL (test/unit/portal-status.spec.ts and
 * the onboarding e2e prove they agree). A failed email wins: its link never arrived.
 */
export type InviteProblem = 'expired' | 'failed';
export const INVITE_PROBLEMS: readonly InviteProblem[] = ['expired', 'failed'];

/** The status filter's choices: a colour, or orange with an invite problem. */
export type StatusChoice = PortalStatus | `orange-${InviteProblem}`;
export const STATUS_CHOICES: readonly StatusChoice[] = [
  ...PORTAL_STATUSES,
  ...INVITE_PROBLEMS.map((p) => `orange-${p}` as const),
];

export const INVITE_PROBLEM_LABELS = englishLabels('inviteProblem', INVITE_PROBLEMS);

/** The patient's latest link (portal_tokens) and latest invite/reset email (mail_outbox). */
export interface InviteProblemFields {
  linkExpiresAt: Date | string | null;
  linkUsedAt: Date | string | null;
  linkRevokedAt: Date | string | null;
  emailStatus: string | null;
}

const instant = (value: Date | string) =>
  value instanceof Date ? value : new Date(value.includes('T') ? value : `${value.replace(' ', 'T')}Z`);

export function inviteProblem(status: PortalStatus, fields: InviteProblemFields, now: Date): InviteProblem | null {
  if (status !== 'orange') return null;
  if (fields.emailStatus === 'failed') return 'failed';
  if (
    fields.linkExpiresAt &&
    !fields.linkUsedAt &&
    !fields.linkRevokedAt &&
    instant(fields.linkExpiresAt).getTime() <= now.getTime()
  )
    return 'expired';
  return null;
}

/** mail_outbox kinds of the portal emails (kept equal to MAIL_KIND in invitations.service). */
const PORTAL_EMAIL_KINDS = "('portal_invite', 'portal_reset')";

/** The latest invite/reset email's status, per portal_accounts alias (ix_mail_outbox_patient). */
const latestEmailStatusSql = (alias: string) =>
  `COALESCE((SELECT o.status FROM mail_outbox o WHERE o.patient_id = ${alias}.patient_id AND o.kind IN ${PORTAL_EMAIL_KINDS} ORDER BY o.id DESC LIMIT 1), '')`;

/** A WHERE condition (with its one parameter, now) selecting orange patients with this problem. */
export function inviteProblemConditionSql(problem: InviteProblem, now: string, alias = 'pa'): { sql: string; params: unknown[] } {
  const orange = portalStatusConditionSql('orange', alias);
  const failed = `${latestEmailStatusSql(alias)} = 'failed'`;
  if (problem === 'failed') return { sql: `(${orange} AND ${failed})`, params: [] };
  const expired =
    `EXISTS (SELECT 1 FROM portal_tokens lt WHERE lt.id = (SELECT MAX(t.id) FROM portal_tokens t WHERE t.patient_id = ${alias}.patient_id AND t.representative_account_id IS NULL)` +
    ` AND lt.used_at IS NULL AND lt.revoked_at IS NULL AND lt.expires_at <= ?)`;
  return { sql: `(${orange} AND NOT ${failed} AND ${expired})`, params: [now] };
}

/** InviteProblemFields for a row query over portal_accounts `alias`: one join on the latest link, same reads as the condition. */
export function inviteProblemFieldsSql(alias = 'pa'): { join: string; columns: string } {
  return {
    join: `LEFT JOIN portal_tokens lt ON lt.id = (SELECT MAX(t.id) FROM portal_tokens t WHERE t.patient_id = ${alias}.patient_id AND t.representative_account_id IS NULL)`,
    columns: `lt.expires_at AS link_expires_at, lt.used_at AS link_used_at, lt.revoked_at AS link_revoked_at, ${latestEmailStatusSql(alias)} AS email_status`,
  };
}
