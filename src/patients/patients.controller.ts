import { Body, Controller, Get, Param, ParseIntPipe, Post, Query, Redirect, UseFilters } from '@nestjs/common';
import { Audit, type AuditContext } from '../audit/audit-context';
import { View } from '../common/views/view.decorator';
import { DashboardQuery, SAVED_MESSAGES } from './dto/dashboard-query.dto';
import { PatientDetailsDto } from './dto/patient-details.dto';
import { PatientDashboardService } from './patient-dashboard.service';
import { PatientFormFilter } from './patient-form.filter';
import { PatientsService } from './patients.service';

/** The patient dashboard: Patient Information with its tabs. */
@Controller('patients')
export class PatientsController {
  constructor(
    private readonly patients: PatientsService,
    private readonly dashboard: PatientDashboardService,
  ) {}

  @Get(':id')
  @View('patients/dashboard')
  async show(@Param('id', ParseIntPipe) id: number, @Query() query: DashboardQuery, @Audit() audit: AuditContext) {
    const tab = query.tab ?? 'details';
    await this.patients.recordView(id, tab, audit);
    const model = await this.dashboard.model(id, tab);
    return { ...model, editing: query.edit === 'details', flash: query.saved ? { kind: 'success', message: SAVED_MESSAGES[query.saved] } : null };
  }

  @Post(':id/details')
  @UseFilters(PatientFormFilter)
  @Redirect()
  async updateDetails(@Param('id', ParseIntPipe) id: number, @Body() details: PatientDetailsDto, @Audit() audit: AuditContext) {
    const { changed } = await this.patients.updateDetails(id, details, audit);
    // Post/redirect/get: a reload does not resubmit the form.
    return { url: `/patients/${id}?saved=${changed ? 'details' : 'unchanged'}`, statusCode: 303 };
  }
}
