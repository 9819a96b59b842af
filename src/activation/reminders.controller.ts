import { Body, Controller, Get, Post, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Audit, type AuditContext } from '../audit/audit-context';
import { Roles } from '../auth/decorators/roles.decorator';
import { seeOther } from '../common/views/flash';
import { renderInstead, View } from '../common/views/view.decorator';
import type { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { ReminderPolicyDto } from './dto/reminder-policy.dto';
import { RemindersService } from './reminders.service';
import { message } from '../i18n/messages';

const PAGE = 'activation/reminders';

/** The admin's reminder policy (off until an admin turns it on). */
@Controller('admin/reminders')
@Roles('admin')
export class RemindersController {
  constructor(
    private readonly reminders: RemindersService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  @Get()
  @View(PAGE)
  async page() {
    return { values: formValues(await this.reminders.policy()), timeZone: this.config.clinicTimeZone };
  }

  @Post()
  @View(PAGE, { invalid: PAGE })
  async save(@Body() form: ReminderPolicyDto, @Res({ passthrough: true }) res: Response, @Audit() audit: AuditContext) {
    const enabled = form.enabled === 'yes';
    const problem = await this.reminders.savePolicy(
      {
        enabled,
        daysAfterInvite: form.daysAfterInvite,
        daysBeforeAppointment: form.daysBeforeAppointment,
        maxPerPatient: form.maxPerPatient,
        allowedFromHour: form.allowedFromHour,
        allowedUntilHour: form.allowedUntilHour,
      },
      audit,
    );
    if (problem) {
      res.status(400);
      return renderInstead(PAGE, { errors: { daysAfterInvite: [problem] }, values: form, timeZone: this.config.clinicTimeZone });
    }
    return seeOther('/admin/reminders', {
      flash: message(enabled ? 'staff:reminders.savedOn' : 'staff:reminders.savedOff'),
    });
  }
}

function formValues(policy: Awaited<ReturnType<RemindersService['policy']>>) {
  return { ...policy, enabled: policy.enabled ? 'yes' : '', daysAfterInvite: policy.daysAfterInvite.join(', ') };
}
