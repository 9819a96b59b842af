import { seeOther } from '../../common/views/flash';

export const RECOVERY_CODES = 'recoveryCodes';
export const RECOVERY_CODES_PAGE = '/account/security/recovery-codes';

/** What the recovery-codes page shows, handed over in the session and read once. */
export interface ShownRecoveryCodes {
  codes: string[];
  next: string;
  enrolled: boolean;
}

export function showRecoveryCodesOnce(shown: ShownRecoveryCodes) {
  return seeOther(RECOVERY_CODES_PAGE, { shownOnce: { [RECOVERY_CODES]: shown } });
}
