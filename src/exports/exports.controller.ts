import { BadRequestException, Controller, Get, Param, ParseUUIDPipe, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Audit, type AuditContext } from '../audit/audit-context';
import { ClinicClock } from '../common/time/clinic-time';
import { OnboardingPageQueryDto, toOnboardingFilter } from '../portal-access/dto/onboarding-filter.dto';
import { sendCsv } from './csv-output';
import { BATCH_REPORT_HEADER, ExportsService, ONBOARDING_EXPORT_HEADER } from './exports.service';

const batchId = new ParseUUIDPipe({ exceptionFactory: () => new BadRequestException('The batch id is not valid.') });
const today = () => new Date().toISOString().slice(0, 10);

/** CSV downloads of the onboarding page: the filtered list, and the report of a bulk invite batch. */
@Controller('portal-onboarding')
export class ExportsController {
  constructor(
    private readonly exports: ExportsService,
    private readonly clock: ClinicClock,
  ) {}

  /**
   * "Download CSV": the same filters (and sort) as the page, every matching row. Unlike the page,
   * a bad filter value is refused (400): silently dropping it would export more patients than asked.
   */
  @Get('export.csv')
  async onboardingList(@Query() dto: OnboardingPageQueryDto, @Audit() audit: AuditContext, @Res() res: Response) {
    const batches = await this.exports.onboardingList(toOnboardingFilter(dto, this.clock), dto.sort ?? 'name', audit);
    await sendCsv(res, `portal-onboarding-${today()}.csv`, ONBOARDING_EXPORT_HEADER, batches);
  }

  @Get('bulk/batches/:batchId/report.csv')
  async batchReport(@Param('batchId', batchId) id: string, @Audit() audit: AuditContext, @Res() res: Response) {
    const batches = await this.exports.batchReport(id, audit);
    await sendCsv(res, `invite-batch-${id.slice(0, 8)}-report.csv`, BATCH_REPORT_HEADER, batches);
  }
}
