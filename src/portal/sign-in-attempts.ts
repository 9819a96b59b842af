import { attemptLockProvider } from '../auth/lockout/attempt-lock';
import { PortalAccountsRepository } from '../portal-access/portal-accounts.repository';
import { RepresentativeAccountsRepository } from '../portal-access/representative-accounts.repository';

/** The lockout rule (AttemptLock) over a patient's portal account: portal_accounts' columns, written by their owner. */
export const PATIENT_ATTEMPTS = Symbol('PATIENT_ATTEMPTS');
/** The same rule over a representative's own account (representative_accounts). */
export const REPRESENTATIVE_ATTEMPTS = Symbol('REPRESENTATIVE_ATTEMPTS');

/** PortalModule's providers of both: each kind of account counts its own attempts, under the one rule. */
export const SIGN_IN_ATTEMPTS = [
  attemptLockProvider(PATIENT_ATTEMPTS, PortalAccountsRepository),
  attemptLockProvider(REPRESENTATIVE_ATTEMPTS, RepresentativeAccountsRepository),
];
