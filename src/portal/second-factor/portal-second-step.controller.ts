import { Body, Get, HttpCode, Post, Req, UnauthorizedException, UseGuards } from '@nestjs/common';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { Request } from 'express';
import { Audit, type AuditContext } from '../../audit/audit-context';
import { LOCKOUT_VALUES } from '../../auth/lockout/attempt-lock';
import { PasskeyAssertionDto, SecondFactorCodeDto } from '../../auth/mfa/dto/second-factor.dto';
import { PatientController, PortalPublic } from '../../common/access/audience';
import { seeOther } from '../../common/views/flash';
import { renderInstead, View } from '../../common/views/view.decorator';
import { PortalSecondStepService } from './portal-second-step.service';
import { message } from '../../i18n/messages';

const WRONG_CODE = message('messages:secondFactor.wrongCode', LOCKOUT_VALUES);
const LOCKED = message('messages:secondFactor.locked', LOCKOUT_VALUES);

/** The second step of a portal sign-in; reached with a half-signed-in session only (checked by the service). */
@PatientController('login/second-step')
@PortalPublic()
export class PortalSecondStepController {
  constructor(private readonly secondStep: PortalSecondStepService) {}

  @Get()
  @View('portal/second-step')
  async page(@Req() req: Request) {
    return { hasPasskeys: await this.secondStep.hasPasskeys(req) };
  }

  @Post()
  @UseGuards(ThrottlerGuard)
  @View('portal/second-step', { invalid: 'portal/second-step' })
  async verify(@Body() form: SecondFactorCodeDto, @Req() req: Request, @Audit() audit: AuditContext) {
    const result = await this.secondStep.verify(req, form.code, audit);
    if (result.outcome === 'signed-in') return seeOther(result.next);
    req.res!.status(401);
    return renderInstead('portal/second-step', {
      hasPasskeys: result.outcome === 'wrong-code' && (await this.secondStep.hasPasskeys(req)),
      errors: { code: [result.outcome === 'locked' ? LOCKED : WRONG_CODE] },
    });
  }

  /** The passkey ceremony (static/js/passkeys.js): JSON in and out, the CSRF token in a header. */
  @Post('passkey/options')
  @HttpCode(200)
  passkeyOptions(@Req() req: Request) {
    return this.secondStep.passkeyOptions(req);
  }

  @Post('passkey')
  @HttpCode(200)
  @UseGuards(ThrottlerGuard)
  async verifyPasskey(@Body() form: PasskeyAssertionDto, @Req() req: Request, @Audit() audit: AuditContext) {
    const result = await this.secondStep.verifyPasskey(req, form.response as unknown as AuthenticationResponseJSON, audit);
    if (result.outcome === 'signed-in') return { redirect: result.next };
    // A message key: the error filter writes it out in the patient's language (the JSON shows it as is).
    throw new UnauthorizedException(
      message(result.outcome === 'locked' ? 'portal:passkeys.signInLocked' : 'portal:passkeys.signInRefused'),
    );
  }
}
