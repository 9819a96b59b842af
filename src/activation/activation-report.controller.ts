import { Controller, Get, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Audit, type AuditContext } from '../audit/audit-context';
import { AuditService } from '../audit/audit.service';
import { sendCsv } from '../common/csv-output';
import { View } from '../common/views/view.decorator';
import { ActivationReportService } from './activation-report.service';
import { ReportQueryDto } from './dto/report-query.dto';

/** /reports/activation: how many invited patients actually activate. */
@Controller('reports')
export class ActivationReportController {
  constructor(
    private readonly reports: ActivationReportService,
    private readonly audit: AuditService,
  ) {}

  @Get('activation')
  @View('activation/report')
  async page(@Query() query: ReportQueryDto, @Audit() audit: AuditContext) {
    const by = query.by ?? 'provider';
    await this.audit.record(audit, { action: 'report.activation_viewed', details: { by } });
    return { ...(await this.reports.report(by)), csvUrl: `/reports/activation.csv?by=${by}` };
  }

  @Get('activation.csv')
  async csv(@Query() query: ReportQueryDto, @Audit() audit: AuditContext, @Res() res: Response) {
    const by = query.by ?? 'provider';
    await this.audit.record(audit, { action: 'report.activation_exported', details: { by } });
    const { header, rows } = await this.reports.csv(by);
    await sendCsv(res, `activation-${by}-${new Date().toISOString().slice(0, 10)}.csv`, header, oneBatch(rows));
  }
}

async function* oneBatch(rows: unknown[][]): AsyncIterable<unknown[][]> {
  yield rows;
}
