import { SetMetadata } from '@nestjs/common';

export const SECOND_FACTOR_STEP = 'secondFactorStep';

/**
 * The second sign-in step's routes: they need a fresh half-signed-in session (correct
 * password, second step pending) instead of a signed-in user, and grant nothing else.
 */
export const SecondFactorStep = () => SetMetadata(SECOND_FACTOR_STEP, true);
