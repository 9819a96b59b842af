import { Controller, Get, Query } from '@nestjs/common';
import { Audit, type AuditContext } from '../audit/audit-context';
import { AuditService } from '../audit/audit.service';
import { View } from '../common/views/view.decorator';
import { worklistFilterOf } from '../portal-access/activation-filters';
import { filterParams } from '../portal-access/onboarding-filter';
import { WorklistQueryDto } from './dto/worklist-query.dto';
import { WORKLIST_ROWS, WorklistService } from './worklist.service';

/** /portal-onboarding/worklist: who needs a nudge, by saved view. */
@Controller('portal-onboarding/worklist')
export class WorklistController {
  constructor(
    private readonly worklist: WorklistService,
    private readonly audit: AuditService,
  ) {}

  @Get()
  @View('activation/worklist')
  async page(@Query() query: WorklistQueryDto, @Audit() audit: AuditContext) {
    const views = await this.worklist.views();
    const chosen = views.find((view) => view.view === (query.view ?? views[0].view))!;
    const rows = await this.worklist.rows(chosen.view);
    // Viewing a list of patients is a PHI view (SECURITY.md §8).
    await this.audit.record(audit, { action: 'worklist.viewed', details: { view: chosen.view, shown: rows.length } });
    return {
      views,
      chosen,
      rows,
      rowLimit: WORKLIST_ROWS,
      bulkFields: [['scope', 'filter'], ...filterParams(worklistFilterOf(chosen.view))],
      selection: null,
    };
  }
}
