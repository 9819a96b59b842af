import {
  applyDecorators,
  Body,
  ConflictException,
  Controller,
  Get,
  Param,
  ParseIntPipe,
  Post,
  Query,
  Redirect,
  UseFilters,
} from '@nestjs/common';
import { Audit, type AuditContext } from '../audit/audit-context';
import { View } from '../common/views/view.decorator';
import { InvitationsService } from './invitations.service';
import type { InviteSkipReason } from '../invitations/invitations.types';
import { PortalAccessService } from './portal-access.service';
import { PortalAccountAdminService } from './portal-account-admin.service';
import { PatientDetailsDto } from '../patients/dto/patient-details.dto';
import { PatientsService } from '../patients/patients.service';
import { DashboardQuery, SAVED_MESSAGES, type SavedMessage } from './dto/dashboard-query.dto';
import { ChangeEmailDto, ChangeUsernameDto, DisableAccessDto, TabInviteDto, VersionedDto } from './dto/patient-portal.dto';
import { PortalReachService } from './representatives/portal-reach.service';
import { CurrentStaff } from '../auth/decorators/current-staff.decorator';
import type { StaffPrincipal } from '../auth/staff-principal';
import { EMAIL_CHANGE_DECISION, type EmailChangeDecision } from './email-change/email-change-policy.service';
import { EmailChangeService } from './email-change/email-change.service';
import { PatientDashboardService } from './patient-dashboard.service';
import { PatientFormFilter } from './patient-form.filter';
import { message } from '../i18n/messages';

/** A form of the dashboard: a refused one re-renders its tab (PatientFormFilter), a done one redirects. */
const FormAction = () => applyDecorators(UseFilters(PatientFormFilter), Redirect());

/** A staff change that may find nothing to change (the account already as asked). */
const changedOr = async (id: number, saved: SavedMessage, change: Promise<{ changed: boolean }>) =>
  back(id, (await change).changed ? saved : 'unchanged');

// Post/redirect/get: a reload does not resubmit the form.
const back = (id: number, saved: SavedMessage, tab: 'details' | 'portal' = 'portal') => ({
  url: tab === 'details' ? `/patients/${id}?saved=${saved}` : `/patients/${id}?tab=portal&saved=${saved}`,
  statusCode: 303,
});

/**
 * The patient dashboard (Patient Information with its Details and Patient Portal tabs) and its
 * actions; each action answers with post/redirect/get, and a refused one re-renders the tab
 * (PatientFormFilter; not on the page itself, whose bad query gets the usual error page). It lives here, not in patients/, because
 * the page composes portal access, invitations and email changes: patients/ stays a leaf.
 */
@Controller('patients/:id')
export class PatientPortalController {
  constructor(
    private readonly patients: PatientsService,
    private readonly dashboard: PatientDashboardService,
    private readonly access: PortalAccessService,
    private readonly accounts: PortalAccountAdminService,
    private readonly invitations: InvitationsService,
    private readonly emailChanges: EmailChangeService,
    private readonly reach: PortalReachService,
  ) {}

  @Get()
  @View('patients/dashboard')
  async show(@Param('id', ParseIntPipe) id: number, @Query() query: DashboardQuery, @Audit() audit: AuditContext) {
    const tab = query.tab ?? 'details';
    await this.patients.recordView(id, tab, audit);
    const model = await this.dashboard.model(id, tab);
    return {
      ...model,
      editing: query.edit === 'details',
      flash: query.saved ? { kind: 'success', message: SAVED_MESSAGES[query.saved] } : null,
    };
  }

  @Post('details')
  @FormAction()
  async updateDetails(@Param('id', ParseIntPipe) id: number, @Body() details: PatientDetailsDto, @Audit() audit: AuditContext) {
    const { changed } = await this.patients.updateDetails(id, details, audit);
    return back(id, changed ? 'details' : 'unchanged', 'details');
  }

  @Post('portal/enable')
  @FormAction()
  async enable(@Param('id', ParseIntPipe) id: number, @Audit() audit: AuditContext) {
    const result = await this.access.enable([id], audit);
    return back(id, result.enabled.length ? 'enabled' : 'unchanged');
  }

  @Post('portal/disable')
  @FormAction()
  async disable(@Param('id', ParseIntPipe) id: number, @Body() form: DisableAccessDto, @Audit() audit: AuditContext) {
    return changedOr(id, 'disabled', this.accounts.disable(id, form.reason, form.version, audit));
  }

  /** Invite, or a password reset when the patient already has a username. */
  @Post('portal/invite')
  @FormAction()
  async invite(@Param('id', ParseIntPipe) id: number, @Body() form: TabInviteDto, @Audit() audit: AuditContext) {
    await this.reach.confirmSharedInvite(id, form, audit);
    const summary = await this.invitations.sendInvites([id], audit);
    const skipped = Object.keys(summary.skipped)[0] as InviteSkipReason | undefined;
    if (skipped === 'deceased') throw new ConflictException(message('staff:refusal.deceasedTab'));
    if (skipped) throw new ConflictException(message('staff:refusal.skipped', { reason: skipped }));
    return back(id, summary.resets ? 'reset' : 'invite');
  }

  @Post('portal/unlock')
  @FormAction()
  async unlock(@Param('id', ParseIntPipe) id: number, @Body() form: VersionedDto, @Audit() audit: AuditContext) {
    return changedOr(id, 'unlocked', this.accounts.unlock(id, form.version, audit));
  }

  @Post('portal/username')
  @FormAction()
  async changeUsername(@Param('id', ParseIntPipe) id: number, @Body() form: ChangeUsernameDto, @Audit() audit: AuditContext) {
    return changedOr(id, 'username', this.accounts.changeUsername(id, form.username, form.version, audit));
  }

  /** Requests the change: it waits for approval (policy) and for the new address to confirm. */
  @Post('email')
  @FormAction()
  async changeEmail(
    @Param('id', ParseIntPipe) id: number,
    @Body() form: ChangeEmailDto,
    @CurrentStaff() staff: StaffPrincipal,
    @Audit() audit: AuditContext,
  ) {
    const outcome = await this.emailChanges.request(id, form, staff, audit);
    return back(id, outcome === 'awaiting_approval' ? 'email_approval' : 'email_confirmation');
  }

  /** A different staff member approves or rejects the waiting change, from the tab. */
  @Post('email-changes/:requestId/:decision')
  @FormAction()
  async decideEmailChange(
    @Param('id', ParseIntPipe) id: number,
    @Param('requestId', ParseIntPipe) requestId: number,
    @Param('decision', EMAIL_CHANGE_DECISION) decision: EmailChangeDecision,
    @CurrentStaff() staff: StaffPrincipal,
    @Audit() audit: AuditContext,
  ) {
    await this.emailChanges.decide(requestId, decision, staff, audit);
    return back(id, decision === 'approve' ? 'email_approved' : 'email_rejected');
  }
}
