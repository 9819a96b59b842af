import { Body, Controller, Get, HttpCode, Param, ParseIntPipe, Post, Req, Res } from '@nestjs/common';
import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import type { Request, Response } from 'express';
import { Audit, type AuditContext } from '../../audit/audit-context';
import { View } from '../../common/views/view.decorator';
import { CurrentStaff } from '../decorators/current-staff.decorator';
import type { StaffPrincipal } from '../staff-principal';
import { PasskeyNameDto, PasskeyRegistrationDto, SecondFactorCodeDto } from './dto/second-factor.dto';
import { SecondFactorService, WRONG_ENROLMENT_CODE } from './second-factor.service';
import { SecondStepService } from './second-step.service';
import { TotpService } from './totp.service';

/** A signed-in staff member's own second factors: authenticator app, recovery codes, passkeys. */
@Controller('account/security')
export class AccountSecurityController {
  constructor(
    private readonly secondFactors: SecondFactorService,
    private readonly secondStep: SecondStepService,
    private readonly totp: TotpService,
  ) {}

  @Get()
  @View('account/security')
  page(@CurrentStaff() staff: StaffPrincipal) {
    return this.pageWith(staff);
  }

  /** Shows the QR code of a new (unconfirmed) secret; nothing changes until a code confirms it. */
  @Get('totp')
  @View('account/totp-setup')
  async totpSetup(@CurrentStaff() staff: StaffPrincipal) {
    return { totp: await this.totp.setup(staff) };
  }

  @Post('totp')
  @View('account/recovery-codes', { invalid: 'account/totp-setup' })
  async activateTotp(@Body() form: SecondFactorCodeDto, @CurrentStaff() staff: StaffPrincipal, @Audit() audit: AuditContext, @Res({ passthrough: true }) res: Response) {
    const activation = await this.secondFactors.activateTotp(staff.id, form.code, audit);
    if (!activation.activated) {
      res.status(400);
      return { __template: 'account/totp-setup', totp: await this.totp.setup(staff), errors: { code: [WRONG_ENROLMENT_CODE] } };
    }
    if (!activation.recoveryCodes) return { __template: 'account/security', ...(await this.pageWith(staff, 'Your authenticator app is set up.')) };
    return { codes: activation.recoveryCodes, next: '/account/security', enrolled: true };
  }

  @Post('totp/remove')
  @View('account/security')
  async removeTotp(@CurrentStaff() staff: StaffPrincipal, @Audit() audit: AuditContext) {
    await this.secondFactors.removeTotp(staff.id, audit);
    return this.pageWith(staff, 'The authenticator app was removed.');
  }

  /** Replaces all recovery codes; the new ones are shown once, on this response only. */
  @Post('recovery-codes')
  @View('account/recovery-codes')
  async regenerateRecoveryCodes(@CurrentStaff() staff: StaffPrincipal, @Audit() audit: AuditContext) {
    return { codes: await this.secondFactors.regenerateRecoveryCodes(staff.id, audit), next: '/account/security', enrolled: false };
  }

  @Post('passkeys/options')
  @HttpCode(200)
  passkeyOptions(@CurrentStaff() staff: StaffPrincipal, @Req() req: Request) {
    return this.secondStep.registrationOptions(req, staff);
  }

  @Post('passkeys')
  @HttpCode(200)
  async registerPasskey(@Body() form: PasskeyRegistrationDto, @CurrentStaff() staff: StaffPrincipal, @Audit() audit: AuditContext, @Req() req: Request) {
    await this.secondStep.registerPasskey(req, staff, form.name, form.response as unknown as RegistrationResponseJSON, audit);
    return { redirect: '/account/security' };
  }

  @Post('passkeys/:id/name')
  @View('account/security')
  async renamePasskey(@Param('id', ParseIntPipe) id: number, @Body() form: PasskeyNameDto, @CurrentStaff() staff: StaffPrincipal, @Audit() audit: AuditContext) {
    const passkey = await this.secondFactors.renamePasskey(staff.id, id, form.name, audit);
    return this.pageWith(staff, `The passkey is now called “${passkey.name}”.`);
  }

  @Post('passkeys/:id/remove')
  @View('account/security')
  async removePasskey(@Param('id', ParseIntPipe) id: number, @CurrentStaff() staff: StaffPrincipal, @Audit() audit: AuditContext) {
    const passkey = await this.secondFactors.removePasskey(staff.id, id, audit);
    return this.pageWith(staff, `The passkey “${passkey.name}” was removed.`);
  }

  private async pageWith(staff: StaffPrincipal, message?: string) {
    return { status: await this.secondFactors.status(staff.id), ...(message ? { flash: { kind: 'success', message } } : {}) };
  }
}
