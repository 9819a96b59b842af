/**
 * Whose account the portal account page acts on: a patient's portal account (keyed on the
 * patient id) or an authorised representative's own account (representative_accounts.id).
 * The session, password and account-page rules are written once over this.
 */
export type AccountHolder = { kind: 'patient' | 'representative'; id: number };

export const patientHolder = (patientId: number): AccountHolder => ({ kind: 'patient', id: patientId });
export const representativeHolder = (accountId: number): AccountHolder => ({ kind: 'representative', id: accountId });

/** The WebAuthn challenge's purpose for a ceremony of this account (each kind's ids are its own). */
export const ceremonyOf = (holder: AccountHolder, step: 'register' | 'authenticate') =>
  holder.kind === 'patient' ? (`portal-${step}` as const) : (`representative-${step}` as const);
