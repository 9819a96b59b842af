import { Body, Controller, Get, NotFoundException, Param, Post, Req, UseFilters } from '@nestjs/common';
import type { Request } from 'express';
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
import { currentStaffSession, StaffSessionsService } from './staff-sessions.service';
import { StaffSessionHandleParam } from './dto/staff-session-handle.dto';
import { message } from '../i18n/messages';

const SECURITY = '/account/security';

@Controller('account')
export class AccountController {
  constructor(
    private readonly users: StaffUsersService,
    private readonly secondStep: SecondStepService,
    private readonly sessions: StaffSessionsService,
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
  ) {
    const user = await this.users.changeOwnPassword(staff.id, form.currentPassword, form.newPassword, audit);
    const enrolment = await this.secondStep.afterPasswordChange(req, toPrincipal(user));
    if (enrolment) return seeOther(enrolment);
    return seeOther('/account/password', { flash: 'Your password has been changed. Other sessions have been signed out.' });
  }

  /** Signs out every other session of this user (the list is on the security page). */
  @Post('security/sessions/others/end')
  @View('account/security')
  async endOtherSessions(@CurrentStaff() staff: StaffPrincipal, @Req() req: Request, @Audit() audit: AuditContext) {
    const current = currentStaffSession(req);
    const count = await this.sessions.endOthers(staff.id, current.generation, current.sid, audit);
    return seeOther(SECURITY, {
      flash: count ? message('staff:account.sessions.endedOthers', { count }) : message('staff:account.sessions.noneToEnd'),
    });
  }

  /** Signs out one other session; a handle that is not one of this user's other open sessions changes nothing. */
  @Post('security/sessions/:handle/end')
  @View('account/security')
  async endSession(
    @Param() param: StaffSessionHandleParam,
    @CurrentStaff() staff: StaffPrincipal,
    @Req() req: Request,
    @Audit() audit: AuditContext,
  ) {
    const current = currentStaffSession(req);
    if (!(await this.sessions.endOne(staff.id, current.generation, current.sid, param.handle, audit)))
      throw new NotFoundException(message('staff:account.sessions.unknown'));
    return seeOther(SECURITY, { flash: message('staff:account.sessions.ended') });
  }
}
