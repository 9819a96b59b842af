/**
 * Who may act for a patient, and until when (issue 16): the one definition of an active
 * representative, as a pure function (the tab, the portal home) and as one SQL condition
 * (the onboarding badge and filter, the sweep). test/unit/representative-rules.spec.ts proves they agree.
 */
export const RELATIONSHIPS = ['parent_or_guardian', 'adult_caregiver', 'healthcare_poa', 'other'] as const;
export type Relationship = (typeof RELATIONSHIPS)[number];

/** In English for the portal's representative home; staff pages read staff.json representatives.relationshipName.<code>. */
export const RELATIONSHIP_LABELS: Record<Relationship, string> = {
  parent_or_guardian: 'Parent or legal guardian',
  adult_caregiver: 'Adult caregiver',
  healthcare_poa: 'Healthcare power of attorney',
  other: 'Other',
};

/** Why a representative's access ended (patient_representatives.ended_reason). */
export type EndReason = 'revoked' | 'end_date' | 'access_disabled' | 'age_of_majority';

export interface RepresentationFields {
  /** Clinic days, YYYY-MM-DD; the end day is the last day of access. */
  startsOn: string;
  endsOn: string | null;
  endedAt: Date | string | null;
}

/** Active on clinic day `today`: not ended, started, not past its end day. */
export function isActiveRepresentation(rep: RepresentationFields, today: string): boolean {
  return !rep.endedAt && rep.startsOn <= today && (!rep.endsOn || rep.endsOn >= today);
}

/** The same rule over a patient_representatives alias; its two parameters are `today`, twice. */
export function activeRepresentationSql(alias = 'pr'): string {
  return `(${alias}.ended_at IS NULL AND ${alias}.starts_on <= ? AND (${alias}.ends_on IS NULL OR ${alias}.ends_on >= ?))`;
}

/**
 * The onboarding filters of this module, as conditions on a patients id column (`p.id`):
 * "has representative: yes/no" and the "Turned 18 — invite to their own account" worklist
 * (a guardian ended at the age of majority, and no username of their own yet).
 */
export function representativeFilterSql(
  filter: { representative?: 'yes' | 'no'; turned18?: 'yes' },
  today: string,
  idColumn = 'p.id',
): Array<{ sql: string; params: unknown[] }> {
  const parts: Array<{ sql: string; params: unknown[] }> = [];
  if (filter.representative)
    parts.push({
      sql: `${filter.representative === 'no' ? 'NOT ' : ''}EXISTS (SELECT 1 FROM patient_representatives pr WHERE pr.patient_id = ${idColumn} AND ${activeRepresentationSql('pr')})`,
      params: [today, today],
    });
  if (filter.turned18)
    parts.push({
      sql:
        `EXISTS (SELECT 1 FROM patient_representatives pr WHERE pr.patient_id = ${idColumn} AND pr.ended_reason = 'age_of_majority')` +
        ` AND NOT EXISTS (SELECT 1 FROM portal_accounts own WHERE own.patient_id = ${idColumn} AND own.username IS NOT NULL)`,
      params: [],
    });
  return parts;
}
