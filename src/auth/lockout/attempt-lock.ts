/** Failed sign-in attempts (passwords and second-factor codes together) before an account locks. */
export const MAX_FAILED_SIGN_INS = 5;
export const LOCKOUT_MINUTES = 15;

/** The sentence every lockout message shares, built from the constants so text and rule never drift apart. */
export const LOCKOUT_RULE = `After ${MAX_FAILED_SIGN_INS} failed attempts an account is locked for ${LOCKOUT_MINUTES} minutes.`;
/** The same rule's numbers, for translated messages (`{{attempts}}`, `{{minutes}}`). */
export const LOCKOUT_VALUES = { attempts: MAX_FAILED_SIGN_INS, minutes: LOCKOUT_MINUTES };
