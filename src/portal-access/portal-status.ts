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

/** Text shown next to the colour (never colour alone) and used as its accessible name. */
export const PORTAL_STATUS_LABELS: Record<PortalStatus, { label: string; description: string }> = {
  red: { label: 'Not enabled', description: 'Portal access is not enabled' },
  gray: { label: 'Enabled', description: 'Portal access is enabled; no invite has been sent yet' },
  orange: { label: 'Invited', description: 'Invited; the patient has not logged in yet' },
  green: { label: 'Active', description: 'The patient has logged in to the Portal' },
};

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
