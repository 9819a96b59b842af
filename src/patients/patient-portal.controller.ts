import { Body, ConflictException, Controller, Param, ParseIntPipe, Post, Redirect, UseFilters } from '@nestjs/common';
import { Audit, type AuditContext } from '../audit/audit-context';
import { InvitationsService } from '../invitations/invitations.service';
import { INVITE_SKIP_REASON_LABELS, InviteSkipReason } from '../invitations/invitations.types';
import { PortalAccessService } from '../portal-access/portal-access.service';
import { PortalAccountAdminService } from '../portal-access/portal-account-admin.service';
import type { SavedMessage } from './dto/dashboard-query.dto';
import { ChangeEmailDto, ChangeUsernameDto, DisableAccessDto, VersionedDto } from './dto/patient-portal.dto';
import { CurrentStaff } from '../auth/decorators/current-staff.decorator';
import type { StaffPrincipal } from '../auth/staff-principal';
import { EmailChangeService } from './email-change/email-change.service';
import { PatientFormFilter } from './patient-form.filter';

const back = (id: number, saved: SavedMessage) => ({ url: `/patients/${id}?tab=portal&saved=${saved}`, statusCode: 303 });

/** The actions of the dashboard's Patient Portal tab; each answers with post/redirect/get. */
@Controller('patients/:id')
@UseFilters(PatientFormFilter)
export class PatientPortalController {
  constructor(
    private readonly access: PortalAccessService,
    private readonly accounts: PortalAccountAdminService,
    private readonly invitations: InvitationsService,
    private readonly emailChanges: EmailChangeService,
  ) {}

  @Post('portal/enable')
  @Redirect()
  async enable(@Param('id', ParseIntPipe) id: number, @Audit() audit: AuditContext) {
    const result = await this.access.enable([id], audit);
    return back(id, result.enabled.length ? 'enabled' : 'unchanged');
  }

  @Post('portal/disable')
  @Redirect()
  async disable(@Param('id', ParseIntPipe) id: number, @Body() form: DisableAccessDto, @Audit() audit: AuditContext) {
    const { changed } = await this.accounts.disable(id, form.reason, form.version, audit);
    return back(id, changed ? 'disabled' : 'unchanged');
  }

  /** Invite, or a password reset when the patient already has a username. */
  @Post('portal/invite')
  @Redirect()
  async invite(@Param('id', ParseIntPipe) id: number, @Audit() audit: AuditContext) {
    const summary = await this.invitations.sendInvites([id], audit);
    const skipped = Object.keys(summary.skipped)[0] as InviteSkipReason | undefined;
    if (skipped === 'deceased') throw new ConflictException('No email was sent: the patient is recorded as deceased.');
    if (skipped) throw new ConflictException(`No email was sent: ${INVITE_SKIP_REASON_LABELS[skipped]}.`);
    return back(id, summary.resets ? 'reset' : 'invite');
  }

  @Post('portal/unlock')
  @Redirect()
  async unlock(@Param('id', ParseIntPipe) id: number, @Body() form: VersionedDto, @Audit() audit: AuditContext) {
    const { changed } = await this.accounts.unlock(id, form.version, audit);
    return back(id, changed ? 'unlocked' : 'unchanged');
  }

  @Post('portal/username')
  @Redirect()
  async changeUsername(@Param('id', ParseIntPipe) id: number, @Body() form: ChangeUsernameDto, @Audit() audit: AuditContext) {
    const { changed } = await this.accounts.changeUsername(id, form.username, form.version, audit);
    return back(id, changed ? 'username' : 'unchanged');
  }

  /** Requests the change: it waits for approval (policy) and for the new address to confirm. */
  @Post('email')
  @Redirect()
  async changeEmail(@Param('id', ParseIntPipe) id: number, @Body() form: ChangeEmailDto, @CurrentStaff() staff: StaffPrincipal, @Audit() audit: AuditContext) {
    const outcome = await this.emailChanges.request(id, form, staff, audit);
    return back(id, outcome === 'awaiting_approval' ? 'email_approval' : 'email_confirmation');
  }

  @Post('email-changes/:requestId/approve')
  @Redirect()
  async approveEmailChange(@Param('id', ParseIntPipe) id: number, @Param('requestId', ParseIntPipe) requestId: number, @CurrentStaff() staff: StaffPrincipal, @Audit() audit: AuditContext) {
    await this.emailChanges.approve(requestId, staff, audit);
    return back(id, 'email_approved');
  }

  @Post('email-changes/:requestId/reject')
  @Redirect()
  async rejectEmailChange(@Param('id', ParseIntPipe) id: number, @Param('requestId', ParseIntPipe) requestId: number, @CurrentStaff() staff: StaffPrincipal, @Audit() audit: AuditContext) {
    await this.emailChanges.reject(requestId, staff, audit);
    return back(id, 'email_rejected');
  }
}
