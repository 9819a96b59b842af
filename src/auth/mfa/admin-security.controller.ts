import { Body, Controller, Get, Post } from '@nestjs/common';
import { Audit, type AuditContext } from '../../audit/audit-context';
import { seeOther } from '../../common/views/flash';
import { View } from '../../common/views/view.decorator';
import { Roles } from '../decorators/roles.decorator';
import { MfaPolicyDto, PortalMfaPolicyDto } from './dto/second-factor.dto';
import { MfaPolicyService } from './mfa-policy.service';
import { SecondFactorService } from './second-factor.service';
import { StaffUsersService } from '../staff-users.service';
import type { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';

/** The admin policies "require a second factor for all staff" and "offer / require one for patients". */
@Controller('admin/security')
@Roles('admin')
export class AdminSecurityController {
  constructor(
    private readonly policy: MfaPolicyService,
    private readonly secondFactors: SecondFactorService,
    private readonly users: StaffUsersService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  @Get()
  @View('admin/security/index')
  page() {
    return this.pageWith();
  }

  @Post()
  @View('admin/security/index')
  async setPolicy(@Body() form: MfaPolicyDto, @Audit() audit: AuditContext) {
    const required = form.requireSecondFactor === 'true';
    await this.secondFactors.setPolicy(required, audit);
    return seeOther('/admin/security', {
      flash: required
        ? 'A second factor is now required for all staff. Staff without one were signed out and will set one up at their next sign-in.'
        : 'A second factor is now optional.',
    });
  }

  @Post('patients')
  @View('admin/security/index')
  async setPortalPolicy(@Body() form: PortalMfaPolicyDto, @Audit() audit: AuditContext) {
    const required = form.patientSecondFactor === 'require';
    await this.secondFactors.setPortalPolicy(required, audit);
    return seeOther('/admin/security', {
      flash: required
        ? 'Patients and representatives now need a second sign-in step: each one without it sets it up at their next portal sign-in.'
        : 'Patients and representatives are offered a second sign-in step; it is optional.',
    });
  }

  private async pageWith() {
    const [required, stored, users, enrolled, patientsRequired] = await Promise.all([
      this.policy.isRequired(),
      this.policy.isStored(),
      this.users.list(),
      this.secondFactors.enrolledUserIds(),
      this.policy.isRequired(undefined, 'portal'),
    ]);
    const active = users.filter((user) => !user.disabled);
    return {
      required,
      stored,
      productionDefault: this.config.isProduction,
      activeCount: active.length,
      withoutSecondFactor: active.filter((user) => !enrolled.has(user.id)),
      patientsRequired,
    };
  }
}
