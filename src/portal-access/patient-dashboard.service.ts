import { Injectable } from '@nestjs/common';
import { AuditQueryService } from '../audit/audit-query.service';
import { describePatientActivity, describePatientEvent, describeViews } from '../audit/patient-activity';
import { canInvite, inviteKind } from './portal-eligibility';
import { PortalOverviewService } from './portal-overview.service';
import type { DashboardTab } from './dto/dashboard-query.dto';
import { EmailChangeService } from './email-change/email-change.service';
import { PatientsService } from '../patients/patients.service';
import { AccountNoticesService } from '../invitations/account-notices.service';
import { RELATIONSHIP_LABELS } from './representatives/representative-rules';
import { RepresentativesService } from './representatives/representatives.service';
import { PortalReachService } from './representatives/portal-reach.service';
import { underSelfAccessText } from './portal-eligibility';
import type { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';

/** Everything the dashboard template needs for one tab; used by the page and by re-rendered forms. */
@Injectable()
export class PatientDashboardService {
  constructor(
    private readonly patients: PatientsService,
    private readonly portal: PortalOverviewService,
    private readonly auditTrail: AuditQueryService,
    private readonly emailChanges: EmailChangeService,
    private readonly notices: AccountNoticesService,
    private readonly representatives: RepresentativesService,
    private readonly reach: PortalReachService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async model(patientId: number, tab: DashboardTab) {
    const summary = await this.patients.summary(patientId);
    if (tab !== 'portal') return { ...summary, tab };
    const [portal, activity, emailChanges, emailChangeNeedsApproval, [representatives, notices], reach] = await Promise.all([
      this.portal.overview(patientId),
      this.auditTrail.patientActivity(patientId),
      this.emailChanges.open(patientId),
      this.emailChanges.needsApproval(),
      this.representativesAndNotices(patientId),
      this.reach.forPatients([{ id: patientId, email: summary.patient.email, dateOfBirth: summary.patient.dateOfBirth }]),
    ]);
    const patientReach = reach.get(patientId) ?? null;
    const hasGuardian = representatives.some((rep) => rep.active && rep.relationship === 'parent_or_guardian');
    return {
      ...summary,
      tab,
      portal,
      invite: {
        allowed: canInvite(
          {
            deceased: summary.patient.deceased,
            accessEnabled: portal.accessEnabled,
            email: summary.patient.email,
            bouncedEmail: portal.bouncedEmail,
            age: patientReach?.age,
          },
          this.reach.ages,
        ),
        kind: inviteKind(portal),
        emailBounced: Boolean(portal.bouncedEmail && portal.bouncedEmail === summary.patient.email),
      },
      reach: patientReach,
      underSelfAccessText: underSelfAccessText(this.reach.ages),
      // Under the self-access age without a guardian yet: the tab opens the add form with the relationship chosen.
      representativeSuggested: patientReach?.minorStage === 'under_self_access' && !hasGuardian ? 'parent_or_guardian' : null,
      // Staff pages are in STAFF_LANGUAGE; the lines are written in it here (they compose several keys each).
      activity: describePatientActivity(activity.events, (event) => describePatientEvent(event, this.config.staffLanguage)),
      views: { ...activity.views, text: describeViews(activity.views, this.config.staffLanguage) },
      emailChanges,
      emailChangeNeedsApproval,
      notices,
      representatives,
      relationshipLabels: RELATIONSHIP_LABELS,
      today: this.representatives.today(),
    };
  }

  /**
   * The patient's representatives, and the notices of both the patient's account and the representatives' own
   * accounts (a representative's password or second factor changed): staff taking their call see what was sent.
   */
  private async representativesAndNotices(patientId: number) {
    const representatives = await this.representatives.forTab(patientId);
    const addresses = representatives.flatMap((rep) => (rep.account?.email ? [rep.account.email] : []));
    return [representatives, await this.notices.sentFor(patientId, addresses)] as const;
  }
}
