import { Controller, Get, Query } from '@nestjs/common';
import { Audit, type AuditContext } from '../audit/audit-context';
import { AuditQueryService } from '../audit/audit-query.service';
import { AuditService } from '../audit/audit.service';
import { Roles } from '../auth/decorators/roles.decorator';
import { StaffUsersService } from '../auth/staff-users.service';
import { View } from '../common/views/view.decorator';
import { AuditFilterDto } from './dto/audit-filter.dto';

/** The audit trail, admin only; reading it is itself audited. */
@Controller('admin/audit')
@Roles('admin')
export class AdminAuditController {
  constructor(
    private readonly query: AuditQueryService,
    private readonly audit: AuditService,
    private readonly users: StaffUsersService,
  ) {}

  @Get()
  @View('admin/audit/index', { fragment: 'admin/audit/_events' })
  async list(@Query() filter: AuditFilterDto, @Audit() audit: AuditContext) {
    const { before, ...criteria } = filter;
    await this.audit.record(audit, { action: 'audit.viewed', patientId: criteria.patientId ?? null, details: { filter: criteria } });
    const [page, actions, staffUsers] = await Promise.all([this.query.page(filter), this.query.actions(), this.users.list()]);
    const query = new URLSearchParams(Object.entries(criteria).filter(([, v]) => v !== undefined).map(([k, v]): [string, string] => [k, String(v)]));
    return { ...page, actions, staffUsers, filter, query: query.toString(), before };
  }
}
