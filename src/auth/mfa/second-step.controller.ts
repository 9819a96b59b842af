import { Body, Controller, Get, HttpCode, Post, Req, Res, UnauthorizedException, UseFilters, UseGuards } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { Request, Response } from 'express';
import { type Flash, redirectSaved, seeOther } from '../../common/views/flash';
import { renderInstead, View } from '../../common/views/view.decorator';
import { showRecoveryCodesOnce } from './recovery-codes-page';
import { SecondFactorStep } from '../decorators/second-factor-step.decorator';
import { LOCKED_MESSAGE, SecondStepThrottledFilter } from './second-step-throttled.filter';
import { PasskeyAssertionDto, PasskeyRegistrationDto, SecondFactorCodeDto } from './dto/second-factor.dto';
import { WRONG_ENROLMENT_CODE } from './second-factor.service';
import { SecondStepService } from './second-step.service';
import { LOCKOUT_MINUTES, MAX_FAILED_SIGN_INS } from '../lockout/attempt-lock';
import { PasskeysService } from './passkeys.service';

const WRONG_CODE = `That code did not work. After ${MAX_FAILED_SIGN_INS} failed attempts (passwords and codes together) the account is locked for ${LOCKOUT_MINUTES} minutes.`;

/**
 * The second sign-in step and, under the policy, the first enrolment. Reached only with a
 * fresh half-signed-in session (@SecondFactorStep); each route signs in or grants nothing.
 */
@Controller('login/second-factor')
@SecondFactorStep()
@UseFilters(SecondStepThrottledFilter)
export class SecondStepController {
  constructor(
    private readonly secondStep: SecondStepService,
    private readonly passkeys: PasskeysService,
  ) {}

  @Get()
  @View('auth/second-factor')
  async page(@Req() req: Request) {
    const { user } = await this.secondStep.pending(req, 'verify');
    return { hasPasskeys: (await this.passkeys.count(user.id)) > 0 };
  }

  @Post()
  @UseGuards(ThrottlerGuard)
  @View('auth/second-factor', { invalid: 'auth/second-factor' })
  async verifyCode(@Body() form: SecondFactorCodeDto, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const result = await this.secondStep.verifyCode(req, form.code);
    if (result.outcome === 'locked') {
      res.status(401);
      return renderInstead('auth/login', { error: LOCKED_MESSAGE });
    }
    if (result.outcome === 'wrong-code') {
      res.status(401);
      const { user } = await this.secondStep.pending(req, 'verify');
      return { hasPasskeys: (await this.passkeys.count(user.id)) > 0, errors: { code: [WRONG_CODE] } };
    }
    if (result.recoveryCodesRemaining !== undefined)
      return seeOther(result.next, { flash: recoveryCodeUsed(result.recoveryCodesRemaining) });
    return seeOther(result.next);
  }

  @Post('passkey/options')
  @HttpCode(200)
  passkeyOptions(@Req() req: Request) {
    return this.secondStep.passkeyOptions(req);
  }

  @Post('passkey')
  @HttpCode(200)
  @UseGuards(ThrottlerGuard)
  async verifyPasskey(@Body() form: PasskeyAssertionDto, @Req() req: Request) {
    const result = await this.secondStep.verifyPasskey(req, form.response as unknown as AuthenticationResponseJSON);
    if (result.outcome === 'signed-in') return { redirect: result.next };
    throw new UnauthorizedException(
      result.outcome === 'locked' ? LOCKED_MESSAGE : 'The passkey was not accepted. Try again, or use a code.',
    );
  }

  @Get('enrol')
  @View('auth/second-factor-enrol')
  async enrolPage(@Req() req: Request) {
    return { totp: await this.secondStep.enrolmentTotpSetup(req) };
  }

  @Post('enrol/totp')
  @UseGuards(ThrottlerGuard)
  @View('account/recovery-codes', { invalid: 'auth/second-factor-enrol' })
  async enrolTotp(@Body() form: SecondFactorCodeDto, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const enrolled = await this.secondStep.enrolTotp(req, form.code);
    if (!enrolled) {
      res.status(400);
      return renderInstead('auth/second-factor-enrol', {
        totp: await this.secondStep.enrolmentTotpSetup(req),
        errors: { code: [WRONG_ENROLMENT_CODE] },
      });
    }
    if (!enrolled.recoveryCodes) return seeOther(enrolled.next);
    return showRecoveryCodesOnce({ codes: enrolled.recoveryCodes, next: enrolled.next, enrolled: true });
  }

  @Post('enrol/passkey/options')
  @HttpCode(200)
  enrolPasskeyOptions(@Req() req: Request) {
    return this.secondStep.enrolmentPasskeyOptions(req);
  }

  @Post('enrol/passkey')
  @HttpCode(200)
  @UseGuards(ThrottlerGuard)
  async enrolPasskey(@Body() form: PasskeyRegistrationDto, @Req() req: Request) {
    return { redirect: await this.secondStep.enrolPasskey(req, form.name, form.response as unknown as RegistrationResponseJSON) };
  }

  @Post('cancel')
  async cancel(@Req() req: Request, @Res() res: Response): Promise<void> {
    await this.secondStep.cancel(req);
    await redirectSaved(req, res, '/login');
  }
}

/** Said on the first page after signing in with a recovery code (a warning when few are left). */
function recoveryCodeUsed(remaining: number): Flash {
  const left = `You have ${remaining === 0 ? 'no' : remaining} recovery code${remaining === 1 ? '' : 's'} left.`;
  return {
    kind: remaining < 3 ? 'error' : 'info',
    message: `You signed in with a recovery code, which is now used up. ${left} If you lost your phone or passkey, set up a new one and create new recovery codes under your name → Sign-in security.`,
  };
}
