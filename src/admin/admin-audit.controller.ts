import { Controller, Get, Query } from '@nestjs/common';
import { Audit, type AuditContext } from '../audit/audit-context';
import { AuditQueryService } from '../audit/audit-query.service';
import { AuditService } from '../audit/audit.service';
import { Roles } from '../auth/decorators/roles.decorator';
import { StaffUsersService } from '../auth/staff-users.service';
import { View } from '../common/views/view.decorator';
import { PatientsService } from '../patients/patients.service';
import { AuditFilterDto } from './dto/audit-filter.dto';

/** A typed name may match many patients; the trail shows the events of at most this many. */
const MAX_PATIENT_MATCHES = 20;

/** The audit trail, admin only; reading it is itself audited. */
@Controller('admin/audit')
@Roles('admin')
export class AdminAuditController {
  constructor(
    private readonly query: AuditQueryService,
    private readonly audit: AuditService,
    private readonly users: StaffUsersService,
    private readonly patients: PatientsService,
  ) {}

  @Get()
  @View('admin/audit/index', { fragment: 'admin/audit/_events' })
  async list(@Query() filter: AuditFilterDto, @Audit() audit: AuditContext) {
    const { before, patient, ...criteria } = filter;
    // The patient filter takes a name or MRN: resolved to patient ids here, never typed by the admin.
    const found = patient ? await this.patients.findByNameOrMrn(patient, MAX_PATIENT_MATCHES + 1) : null;
    const patientMatches = found?.slice(0, MAX_PATIENT_MATCHES) ?? null;
    const patientIds = patientMatches?.map((match) => match.id);
    const onePatient = criteria.patientId ?? (patientIds?.length === 1 ? patientIds[0] : null);
    await this.audit.record(audit, {
      action: 'audit.viewed',
      patientId: onePatient,
      details: { filter: { ...criteria, ...(patient ? { patient } : {}) } },
    });
    const [page, actions, staffUsers] = await Promise.all([
      this.query.page({ ...criteria, patientIds, before }),
      this.query.actions(),
      this.users.list(),
    ]);
    const shown = { ...criteria, patient };
    const query = new URLSearchParams(
      Object.entries(shown)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]): [string, string] => [k, String(v)]),
    );
    return {
      ...page,
      actions,
      staffUsers,
      filter,
      query: query.toString(),
      before,
      patientMatches,
      morePatientMatches: (found?.length ?? 0) > MAX_PATIENT_MATCHES,
    };
  }
}
