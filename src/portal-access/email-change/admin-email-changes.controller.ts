import { Body, Controller, Get, Param, ParseIntPipe, Post, Query, Redirect } from '@nestjs/common';
import { IsIn, IsOptional } from 'class-validator';
import { Audit, type AuditContext } from '../../audit/audit-context';
import { CurrentStaff } from '../../auth/decorators/current-staff.decorator';
import { Roles } from '../../auth/decorators/roles.decorator';
import type { StaffPrincipal } from '../../auth/staff-principal';
import { seeOther } from '../../common/views/flash';
import { View } from '../../common/views/view.decorator';
import type { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { EMAIL_CHANGE_DECISION, type EmailChangeDecision, EmailChangePolicyService } from './email-change-policy.service';
import { EmailChangeService } from './email-change.service';
import { message } from '../../i18n/messages';

export class EmailChangePolicyDto {
  @IsIn(['true', 'false'], { message: message('staff:form.onOrOff') })
  needsApproval!: 'true' | 'false';
}

const DONE = {
  approved: message('staff:saved.emailChangeApproved'),
  rejected: message('staff:saved.emailChangeRejected'),
} as const;

export class EmailChangesQuery {
  @IsOptional()
  @IsIn(Object.keys(DONE), { message: message('staff:form.unknownMessage') })
  done?: keyof typeof DONE;
}

/** Admin → Email changes: the approval queue of every patient, frozen (reported) changes first, and the policy switch. */
@Controller('admin/email-changes')
@Roles('admin')
export class AdminEmailChangesController {
  constructor(
    private readonly emailChanges: EmailChangeService,
    private readonly policy: EmailChangePolicyService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  @Get()
  @View('admin/email-changes/index')
  page(@Query() query: EmailChangesQuery) {
    return this.model(query.done ? DONE[query.done] : undefined);
  }

  /** Post/redirect/get: the queue page shows the message once, so a reload never flips the policy back. */
  @Post('policy')
  @View('admin/email-changes/index')
  async setPolicy(@Body() form: EmailChangePolicyDto, @Audit() audit: AuditContext) {
    const needsApproval = form.needsApproval === 'true';
    await this.policy.change(needsApproval, audit);
    return seeOther('/admin/email-changes', {
      flash: needsApproval ? message('staff:saved.emailChangesNeedApproval') : message('staff:saved.emailChangesNoApproval'),
    });
  }

  /** Approve or reject (a different staff member than the one who asked). */
  @Post(':requestId/:decision')
  @Redirect()
  async decide(
    @Param('requestId', ParseIntPipe) requestId: number,
    @Param('decision', EMAIL_CHANGE_DECISION) decision: EmailChangeDecision,
    @CurrentStaff() staff: StaffPrincipal,
    @Audit() audit: AuditContext,
  ) {
    await this.emailChanges.decide(requestId, decision, staff, audit);
    return { url: `/admin/email-changes?done=${decision === 'approve' ? 'approved' : 'rejected'}`, statusCode: 303 };
  }

  private async model(message?: string) {
    const [requests, needsApproval, stored] = await Promise.all([
      this.emailChanges.open(),
      this.policy.needsApproval(),
      this.policy.isStored(),
    ]);
    // Reported (frozen) changes are the urgent ones.
    requests.sort((a, b) => Number(b.status === 'frozen') - Number(a.status === 'frozen'));
    return {
      requests,
      needsApproval,
      stored,
      productionDefault: this.config.isProduction,
      ...(message ? { flash: { kind: 'success', message } } : {}),
    };
  }
}
