import { Injectable } from '@nestjs/common';
import { AuditQueryService } from '../audit/audit-query.service';
import { describePatientActivity, describeViews } from '../audit/patient-activity';
import { canInvite, inviteKind } from './portal-eligibility';
import { PortalOverviewService } from './portal-overview.service';
import type { DashboardTab } from './dto/dashboard-query.dto';
import { EmailChangeService } from './email-change/email-change.service';
import { PatientsService } from '../patients/patients.service';
import { RELATIONSHIP_LABELS } from './representatives/representative-rules';
import { RepresentativesService } from './representatives/representatives.service';

/** Everything the dashboard template needs for one tab; used by the page and by re-rendered forms. */
@Injectable()
export class PatientDashboardService {
  constructor(
    private readonly patients: PatientsService,
    private readonly portal: PortalOverviewService,
    private readonly auditTrail: AuditQueryService,
    private readonly emailChanges: EmailChangeService,
    private readonly representatives: RepresentativesService,
  ) {}

  async model(patientId: number, tab: DashboardTab) {
    const summary = await this.patients.summary(patientId);
    if (tab !== 'portal') return { ...summary, tab };
    const [portal, activity, emailChanges, emailChangeNeedsApproval, representatives] = await Promise.all([
      this.portal.overview(patientId),
      this.auditTrail.patientActivity(patientId),
      this.emailChanges.open(patientId),
      this.emailChanges.needsApproval(),
      this.representatives.forTab(patientId),
    ]);
    return {
      ...summary,
      tab,
      portal,
      invite: {
        allowed: canInvite({
          deceased: summary.patient.deceased,
          accessEnabled: portal.accessEnabled,
          email: summary.patient.email,
        }),
        kind: inviteKind(portal),
      },
      activity: describePatientActivity(activity.events),
      views: { ...activity.views, text: describeViews(activity.views) },
      emailChanges,
      emailChangeNeedsApproval,
      representatives,
      relationshipLabels: RELATIONSHIP_LABELS,
      today: this.representatives.today(),
    };
  }
}
