import { Body, Controller, Get, HttpCode, Param, ParseIntPipe, Post, Req, Res } from '@nestjs/common';
import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import type { Request, Response } from 'express';
import { Audit, type AuditContext } from '../../audit/audit-context';
import { seeOther, takeShownOnce } from '../../common/views/flash';
import { RECOVERY_CODES, showRecoveryCodesOnce, type ShownRecoveryCodes } from './recovery-codes-page';
import { renderInstead, View } from '../../common/views/view.decorator';
import { currentStaffSession, StaffSessionsService } from '../staff-sessions.service';
import type { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
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
    private readonly sessions: StaffSessionsService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  @Get()
  @View('account/security')
  async page(@CurrentStaff() staff: StaffPrincipal, @Req() req: Request) {
    const current = currentStaffSession(req);
    const sessions = await this.sessions.list(staff.id, current.generation, current.sid);
    return {
      ...(await this.pageWith(staff)),
      sessions,
      otherSessions: sessions.filter((session) => !session.current).length,
      staffIdleMinutes: this.config.staffIdleMinutes,
      staffAbsoluteHours: this.config.staffAbsoluteHours,
    };
  }

  /** Shows the QR code of a new (unconfirmed) secret; nothing changes until a code confirms it. */
  @Get('totp')
  @View('account/totp-setup')
  async totpSetup(@CurrentStaff() staff: StaffPrincipal) {
    return { totp: await this.totp.setup(staff) };
  }

  @Post('totp')
  @View('account/recovery-codes', { invalid: 'account/totp-setup' })
  async activateTotp(
    @Body() form: SecondFactorCodeDto,
    @CurrentStaff() staff: StaffPrincipal,
    @Audit() audit: AuditContext,
    @Res({ passthrough: true }) res: Response,
  ) {
    const activation = await this.secondFactors.activateTotp(staff.id, form.code, audit);
    if (!activation.activated) {
      res.status(400);
      return renderInstead('account/totp-setup', {
        totp: await this.totp.setup(staff),
        errors: { code: [WRONG_ENROLMENT_CODE] },
      });
    }
    if (!activation.recoveryCodes) return seeOther(SECURITY, { flash: 'Your authenticator app is set up.' });
    return showRecoveryCodesOnce({ codes: activation.recoveryCodes, next: SECURITY, enrolled: true });
  }

  @Post('totp/remove')
  @View('account/security')
  async removeTotp(@CurrentStaff() staff: StaffPrincipal, @Audit() audit: AuditContext) {
    await this.secondFactors.removeTotp(staff.id, audit);
    return seeOther(SECURITY, { flash: 'The authenticator app was removed.' });
  }

  /** Replaces all recovery codes; the new ones are shown once, on the page this redirects to. */
  @Post('recovery-codes')
  @View('account/recovery-codes')
  async regenerateRecoveryCodes(@CurrentStaff() staff: StaffPrincipal, @Audit() audit: AuditContext) {
    return showRecoveryCodesOnce({
      codes: await this.secondFactors.regenerateRecoveryCodes(staff.id, audit),
      next: SECURITY,
      enrolled: false,
    });
  }

  /** New recovery codes, read once from the session: a reload says they were shown and offers new ones. */
  @Get('recovery-codes')
  @View('account/recovery-codes')
  recoveryCodes(@Req() req: Request) {
    return { shown: takeShownOnce<ShownRecoveryCodes>(req, RECOVERY_CODES) ?? null };
  }

  @Post('passkeys/options')
  @HttpCode(200)
  passkeyOptions(@CurrentStaff() staff: StaffPrincipal, @Req() req: Request) {
    return this.secondStep.registrationOptions(req, staff);
  }

  @Post('passkeys')
  @HttpCode(200)
  async registerPasskey(
    @Body() form: PasskeyRegistrationDto,
    @CurrentStaff() staff: StaffPrincipal,
    @Audit() audit: AuditContext,
    @Req() req: Request,
  ) {
    await this.secondStep.registerPasskey(req, staff, form.name, form.response as unknown as RegistrationResponseJSON, audit);
    return { redirect: '/account/security' };
  }

  @Post('passkeys/:id/name')
  @View('account/security')
  async renamePasskey(
    @Param('id', ParseIntPipe) id: number,
    @Body() form: PasskeyNameDto,
    @CurrentStaff() staff: StaffPrincipal,
    @Audit() audit: AuditContext,
  ) {
    const passkey = await this.secondFactors.renamePasskey(staff.id, id, form.name, audit);
    return seeOther(SECURITY, {
      flash: passkey.changed ? `The passkey is now called “${passkey.name}”.` : 'Nothing needed changing.',
    });
  }

  @Post('passkeys/:id/remove')
  @View('account/security')
  async removePasskey(
    @Param('id', ParseIntPipe) id: number,
    @CurrentStaff() staff: StaffPrincipal,
    @Audit() audit: AuditContext,
  ) {
    const passkey = await this.secondFactors.removePasskey(staff.id, id, audit);
    return seeOther(SECURITY, { flash: `The passkey “${passkey.name}” was removed.` });
  }

  private async pageWith(staff: StaffPrincipal) {
    return { status: await this.secondFactors.status(staff.id) };
  }
}

const SECURITY = '/account/security';
