import { attemptLockProvider } from '../auth/lockout/attempt-lock';
import { PatientLockoutColumns, RepresentativeLockoutColumns } from '../portal-access/lockout-columns.repository';

/** The lockout rule (AttemptLock) over a patient's portal account: portal_accounts' columns, written by their owner (portal-access). */
export const PATIENT_ATTEMPTS = Symbol('PATIENT_ATTEMPTS');
/** The same rule over a representative's own account (representative_accounts). */
export const REPRESENTATIVE_ATTEMPTS = Symbol('REPRESENTATIVE_ATTEMPTS');

/** PortalModule's providers of both: each kind of account counts its own attempts, under the one rule. */
export const SIGN_IN_ATTEMPTS = [
  attemptLockProvider(PATIENT_ATTEMPTS, PatientLockoutColumns),
  attemptLockProvider(REPRESENTATIVE_ATTEMPTS, RepresentativeLockoutColumns),
];
