import { Body, Controller, Get, Param, ParseIntPipe, Post, Req } from '@nestjs/common';
import type { Request } from 'express';
import { Audit, type AuditContext } from '../audit/audit-context';
import { Roles } from '../auth/decorators/roles.decorator';
import { CurrentStaff } from '../auth/decorators/current-staff.decorator';
import { SecondFactorService } from '../auth/mfa/second-factor.service';
import type { StaffPrincipal } from '../auth/staff-principal';
import { StaffUsersService } from '../auth/staff-users.service';
import { seeOther, takeShownOnce } from '../common/views/flash';
import { View } from '../common/views/view.decorator';
import { ChangeRoleDto, CreateStaffUserDto, SetDisabledDto } from './dto/staff-user.dto';

const USERS = '/admin/users';
const ONE_TIME_PASSWORD_PAGE = '/admin/users/one-time-password';
const ONE_TIME_PASSWORD = 'oneTimePassword';

/** What the one-time-password page shows, handed over in the session and read once. */
interface ShownPassword {
  name: string;
  email: string;
  temporaryPassword: string;
  created: boolean;
}

/**
 * Admin-only management of staff accounts; every rule lives in StaffUsersService. Every
 * form answers with post/redirect/get, so Back and Reload never post it again.
 */
@Controller('admin/users')
@Roles('admin')
export class AdminUsersController {
  constructor(
    private readonly users: StaffUsersService,
    private readonly secondFactors: SecondFactorService,
  ) {}

  @Get()
  @View('admin/users/index')
  async list(@CurrentStaff() me: StaffPrincipal) {
    const [users, enrolled] = await Promise.all([this.users.list(), this.secondFactors.enrolledUserIds()]);
    return { users, me, now: new Date(), secondFactorUserIds: [...enrolled] };
  }

  @Get('new')
  @View('admin/users/new')
  newForm() {
    return { values: { role: 'staff' } };
  }

  /** The one-time password, shown once: this read deletes it, so a reload shows that it is gone. */
  @Get('one-time-password')
  @View('admin/users/created')
  oneTimePassword(@Req() req: Request) {
    return { shown: takeShownOnce<ShownPassword>(req, ONE_TIME_PASSWORD) ?? null };
  }

  @Post()
  @View('admin/users/created', { invalid: 'admin/users/new' })
  async create(@Body() form: CreateStaffUserDto, @Audit() audit: AuditContext) {
    const { user, temporaryPassword } = await this.users.create(form, audit);
    return showPasswordOnce({ name: user.name, email: user.email, temporaryPassword, created: true });
  }

  @Post(':id/role')
  @View('admin/users/index')
  async changeRole(@Param('id', ParseIntPipe) id: number, @Body() form: ChangeRoleDto, @Audit() audit: AuditContext) {
    const user = await this.users.setRole(id, form.role, audit);
    return seeOther(USERS, { flash: `${user.name} is ${user.role === 'admin' ? 'an admin' : 'staff'}.` });
  }

  /** Disabling asks first (a page, so it works without script); enabling does not. */
  @Get(':id/disable')
  @View('admin/users/confirm-disable')
  async confirmDisable(@Param('id', ParseIntPipe) id: number) {
    return { user: await this.users.get(id) };
  }

  @Post(':id/disabled')
  @View('admin/users/index')
  async setDisabled(@Param('id', ParseIntPipe) id: number, @Body() form: SetDisabledDto, @Audit() audit: AuditContext) {
    const user = await this.users.setDisabled(id, form.disabled === 'true', audit);
    return seeOther(USERS, { flash: `${user.name} is ${user.disabled ? 'disabled and signed out' : 'enabled'}.` });
  }

  @Post(':id/unlock')
  @View('admin/users/index')
  async unlock(@Param('id', ParseIntPipe) id: number, @Audit() audit: AuditContext) {
    const user = await this.users.unlock(id, audit);
    return seeOther(USERS, { flash: `${user.name} can sign in again.` });
  }

  @Post(':id/reset-password')
  @View('admin/users/created')
  async resetPassword(@Param('id', ParseIntPipe) id: number, @Audit() audit: AuditContext) {
    const { user, temporaryPassword } = await this.users.resetPassword(id, audit);
    return showPasswordOnce({ name: user.name, email: user.email, temporaryPassword, created: false });
  }

  /** Clears the user's authenticator app, passkeys and recovery codes, and signs them out; never one's own. */
  @Post(':id/reset-second-factor')
  @View('admin/users/index')
  async resetSecondFactor(@Param('id', ParseIntPipe) id: number, @Audit() audit: AuditContext) {
    const user = await this.secondFactors.adminReset(id, audit);
    return seeOther(USERS, {
      flash: `${user.name}'s second factor was reset. They were signed out and will set up a new one at their next sign-in.`,
    });
  }
}

function showPasswordOnce(shown: ShownPassword) {
  return seeOther(ONE_TIME_PASSWORD_PAGE, { shownOnce: { [ONE_TIME_PASSWORD]: shown } });
}
