import { Body, Controller, Get, Post, Req, UseFilters } from '@nestjs/common';
import type { Request } from 'express';
import { Audit, type AuditContext } from '../audit/audit-context';
import { View } from '../common/views/view.decorator';
import { CurrentStaff } from './decorators/current-staff.decorator';
import { AllowPendingPasswordChange } from './decorators/allow-pending-password-change.decorator';
import { ChangePasswordDto } from './dto/change-password.dto';
import { PasswordRejectedFilter } from './password-rejected.filter';
import { toPrincipal } from './auth.service';
import { StaffAuthenticator } from './staff-authenticator';
import type { StaffPrincipal } from './staff-principal';
import { StaffUsersService } from './staff-users.service';

@Controller('account')
export class AccountController {
  constructor(
    private readonly users: StaffUsersService,
    private readonly authenticator: StaffAuthenticator,
  ) {}

  @Get('password')
  @AllowPendingPasswordChange()
  @View('account/password')
  passwordPage(@CurrentStaff() staff: StaffPrincipal) {
    return { mustChange: staff.mustChangePassword };
  }

  /** Changing the password ends the user's other sessions; this one is signed in again (new session id). */
  @Post('password')
  @AllowPendingPasswordChange()
  @UseFilters(PasswordRejectedFilter)
  @View('account/password', { invalid: 'account/password' })
  async changePassword(@Body() form: ChangePasswordDto, @CurrentStaff() staff: StaffPrincipal, @Audit() audit: AuditContext, @Req() req: Request) {
    const user = await this.users.changeOwnPassword(staff.id, form.currentPassword, form.newPassword, audit);
    await this.authenticator.logIn(req, toPrincipal(user));
    req.session.lastActivityAt = Date.now();
    req.session.signedInAt = Date.now();
    return { mustChange: false, flash: { kind: 'success', message: 'Your password has been changed. Other sessions have been signed out.' } };
  }
}
