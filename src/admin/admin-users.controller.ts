import { Body, Controller, Get, Param, ParseIntPipe, Post } from '@nestjs/common';
import { Audit, type AuditContext } from '../audit/audit-context';
import { Roles } from '../auth/decorators/roles.decorator';
import { CurrentStaff } from '../auth/decorators/current-staff.decorator';
import { SecondFactorService } from '../auth/mfa/second-factor.service';
import type { StaffPrincipal } from '../auth/staff-principal';
import { StaffUsersService } from '../auth/staff-users.service';
import { View } from '../common/views/view.decorator';
import { ChangeRoleDto, CreateStaffUserDto, SetDisabledDto } from './dto/staff-user.dto';

/** Admin-only management of staff accounts; every rule lives in StaffUsersService. */
@Controller('admin/users')
@Roles('admin')
export class AdminUsersController {
  constructor(
    private readonly users: StaffUsersService,
    private readonly secondFactors: SecondFactorService,
  ) {}

  @Get()
  @View('admin/users/index')
  list(@CurrentStaff() me: StaffPrincipal) {
    return this.listWith(me);
  }

  @Get('new')
  @View('admin/users/new')
  newForm() {
    return { values: { role: 'staff' } };
  }

  /** The one-time password is shown once on the result page and never stored in clear. */
  @Post()
  @View('admin/users/created', { invalid: 'admin/users/new' })
  async create(@Body() form: CreateStaffUserDto, @Audit() audit: AuditContext) {
    const { user, temporaryPassword } = await this.users.create(form, audit);
    return { user, temporaryPassword, created: true };
  }

  @Post(':id/role')
  @View('admin/users/index')
  async changeRole(@Param('id', ParseIntPipe) id: number, @Body() form: ChangeRoleDto, @Audit() audit: AuditContext, @CurrentStaff() me: StaffPrincipal) {
    const user = await this.users.setRole(id, form.role, audit);
    return this.listWith(me, `${user.name} is now ${user.role === 'admin' ? 'an admin' : 'staff'}.`);
  }

  @Post(':id/disabled')
  @View('admin/users/index')
  async setDisabled(@Param('id', ParseIntPipe) id: number, @Body() form: SetDisabledDto, @Audit() audit: AuditContext, @CurrentStaff() me: StaffPrincipal) {
    const user = await this.users.setDisabled(id, form.disabled === 'true', audit);
    return this.listWith(me, `${user.name} is ${user.disabled ? 'disabled and signed out' : 'enabled'}.`);
  }

  @Post(':id/unlock')
  @View('admin/users/index')
  async unlock(@Param('id', ParseIntPipe) id: number, @Audit() audit: AuditContext, @CurrentStaff() me: StaffPrincipal) {
    const user = await this.users.unlock(id, audit);
    return this.listWith(me, `${user.name} can sign in again.`);
  }

  @Post(':id/reset-password')
  @View('admin/users/created')
  async resetPassword(@Param('id', ParseIntPipe) id: number, @Audit() audit: AuditContext) {
    const { user, temporaryPassword } = await this.users.resetPassword(id, audit);
    return { user, temporaryPassword, created: false };
  }

  /** Clears the user's authenticator app, passkeys and recovery codes, and signs them out; never one's own. */
  @Post(':id/reset-second-factor')
  @View('admin/users/index')
  async resetSecondFactor(@Param('id', ParseIntPipe) id: number, @Audit() audit: AuditContext, @CurrentStaff() me: StaffPrincipal) {
    const user = await this.secondFactors.adminReset(id, audit);
    return this.listWith(me, `${user.name}'s second factor was reset. They were signed out and will set up a new one at their next sign-in.`);
  }

  private async listWith(me: StaffPrincipal, message?: string) {
    const [users, enrolled] = await Promise.all([this.users.list(), this.secondFactors.enrolledUserIds()]);
    return { users, me, now: new Date(), secondFactorUserIds: [...enrolled], ...(message ? { flash: { kind: 'success', message } } : {}) };
  }
}
