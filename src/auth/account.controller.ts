import { Body, Controller, Get, Post, Req, Res, UseFilters } from '@nestjs/common';
import type { Request, Response } from 'express';
import { Audit, type AuditContext } from '../audit/audit-context';
import { seeOther } from '../common/views/flash';
import { View } from '../common/views/view.decorator';
import { CurrentStaff } from './decorators/current-staff.decorator';
import { AllowPendingPasswordChange } from './decorators/allow-pending-password-change.decorator';
import { ChangePasswordDto } from './dto/change-password.dto';
import { PasswordRejectedFilter } from './password-rejected.filter';
import { toPrincipal } from './auth.service';
import { SecondStepService } from './mfa/second-step.service';
import type { StaffPrincipal } from './staff-principal';
import { StaffUsersService } from './staff-users.service';

@Controller('account')
export class AccountController {
  constructor(
    private readonly users: StaffUsersService,
    private readonly secondStep: SecondStepService,
  ) {}

  @Get('password')
  @AllowPendingPasswordChange()
  @View('account/password')
  passwordPage(@CurrentStaff() staff: StaffPrincipal) {
    return { mustChange: staff.mustChangePassword };
  }

  /**
   * Changing the password ends the user's other sessions; this one is signed in again (new
   * session id) — or, when the policy requires a second factor the user lacks, goes on to enrolment.
   */
  @Post('password')
  @AllowPendingPasswordChange()
  @UseFilters(PasswordRejectedFilter)
  @View('account/password', { invalid: 'account/password' })
  async changePassword(
    @Body() form: ChangePasswordDto,
    @CurrentStaff() staff: StaffPrincipal,
    @Audit() audit: AuditContext,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    const user = await this.users.changeOwnPassword(staff.id, form.currentPassword, form.newPassword, audit);
    const enrolment = await this.secondStep.afterPasswordChange(req, toPrincipal(user));
    if (enrolment) return res.redirect(303, enrolment);
    return seeOther('/account/password', { flash: 'Your password has been changed. Other sessions have been signed out.' });
  }
}
