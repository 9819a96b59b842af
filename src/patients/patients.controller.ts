import { Body, Controller, Get, Param, ParseIntPipe, Post, Query, Res, UseFilters } from '@nestjs/common';
import type { Response } from 'express';
import { Audit, type AuditContext } from '../audit/audit-context';
import { AuditQueryService } from '../audit/audit-query.service';
import { View } from '../common/views/view.decorator';
import { PortalOverviewService } from '../portal-access/portal-overview.service';
import { PatientDetailsDto } from './dto/patient-details.dto';
import { DashboardQuery } from './dto/dashboard-query.dto';
import { PatientFormFilter } from './patient-form.filter';
import { PatientsService } from './patients.service';

/** The patient dashboard: Patient Information with its tabs. */
@Controller('patients')
export class PatientsController {
  constructor(
    private readonly patients: PatientsService,
    private readonly portal: PortalOverviewService,
    private readonly auditTrail: AuditQueryService,
  ) {}

  @Get(':id')
  @View('patients/dashboard')
  async dashboard(@Param('id', ParseIntPipe) id: number, @Query() query: DashboardQuery, @Audit() audit: AuditContext) {
    const tab = query.tab ?? 'details';
    const summary = await this.patients.summary(id);
    await this.patients.recordView(id, tab, audit);
    const portalTab = tab === 'portal' ? { portal: await this.portal.overview(id), events: (await this.auditTrail.page({ patientId: id }, 20)).events } : {};
    return { ...summary, ...portalTab, tab, editing: query.edit === 'details' };
  }

  @Post(':id/details')
  @UseFilters(PatientFormFilter)
  async updateDetails(@Param('id', ParseIntPipe) id: number, @Body() details: PatientDetailsDto, @Audit() audit: AuditContext, @Res() res: Response): Promise<void> {
    await this.patients.updateDetails(id, details, audit);
    // Post/redirect/get: a reload does not resubmit the form.
    res.redirect(303, `/patients/${id}?saved=details`);
  }
}
