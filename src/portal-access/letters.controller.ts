import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  Param,
  ParseIntPipe,
  ParseUUIDPipe,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { Audit, type AuditContext } from '../audit/audit-context';
import { CurrentStaff } from '../auth/decorators/current-staff.decorator';
import type { StaffPrincipal } from '../auth/staff-principal';
import { ClinicClock } from '../common/time/clinic-time';
import type { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { writeLettersPdf } from '../portal-access/activation-codes/activation-letter.pdf';
import { ActivationLettersService, describeLetterPlan } from '../portal-access/activation-codes/activation-letters.service';
import { seeOther } from '../common/views/flash';
import { isHtmxRequest } from '../common/views/htmx';
import { View } from '../common/views/view.decorator';
import { BulkSelectionDto, toSelection } from './dto/onboarding-filter.dto';
import { OnboardingActionsService, type Selection } from './onboarding-actions.service';
import { queryString } from './onboarding-filter';
import { selectionFields } from './onboarding.controller';
import { message } from '../i18n/messages';

const batchId = new ParseUUIDPipe({ exceptionFactory: () => new BadRequestException(message('staff:refusal.batchId')) });

/**
 * "Print activation letters" (issue #18): a preview with the skip reasons, then the PDF,
 * streamed as it is made (never written to disk), then the batch report.
 */
@Controller()
export class LettersController {
  constructor(
    private readonly letters: ActivationLettersService,
    private readonly actions: OnboardingActionsService,
    private readonly clock: ClinicClock,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  @Post('portal-onboarding/letters/preview')
  @HttpCode(200)
  @View('portal-access/bulk', { fragment: 'portal-access/_letters-confirm' })
  async preview(@Body() dto: BulkSelectionDto, @Audit() audit: AuditContext, @Req() req: Request) {
    const selection = toSelection(dto, this.clock);
    // Without JavaScript: the same question on a GET page (below), so a reload asks it again.
    if (!isHtmxRequest(req)) return seeOther(`/portal-onboarding/letters/preview?${queryString(selectionFields(selection))}`);
    return this.previewOf(selection, audit);
  }

  /** The preview as a page of its own, where a browser without JavaScript lands. */
  @Get('portal-onboarding/letters/preview')
  @View('portal-access/bulk', { fragment: 'portal-access/_letters-confirm' })
  async previewPage(@Query() dto: BulkSelectionDto, @Audit() audit: AuditContext) {
    return this.previewOf(toSelection(dto, this.clock), audit);
  }

  private async previewOf(selection: Selection, audit: AuditContext) {
    const plan = await this.letters.plan(await this.actions.patientIdsOf(selection, audit));
    return {
      plan,
      text: describeLetterPlan(plan),
      selection: selectionFields(selection),
      letterTtlDays: this.config.letterTtlDays,
    };
  }

  @Post('portal-onboarding/letters')
  async print(@Body() dto: BulkSelectionDto, @Audit() audit: AuditContext, @Res() res: Response): Promise<void> {
    const ids = await this.actions.patientIdsOf(toSelection(dto, this.clock), audit);
    await this.stream(ids, audit, res);
  }

  /** The tab's single letter. */
  @Post('patients/:id/portal/letter')
  async printOne(@Param('id', ParseIntPipe) id: number, @Audit() audit: AuditContext, @Res() res: Response): Promise<void> {
    await this.stream([id], audit, res);
  }

  @Get('portal-onboarding/letters/batches/:batchId')
  @View('portal-access/letters-report')
  async report(@Param('batchId', batchId) id: string, @CurrentStaff() staff: StaffPrincipal) {
    return { batchId: id, ...(await this.letters.report(id, staff.id)) };
  }

  private async stream(ids: number[], audit: AuditContext, res: Response): Promise<void> {
    const batch = await this.letters.print(ids, audit);
    res.status(200);
    res.setHeader('Content-Type', 'application/pdf');
    res.setHeader('Content-Disposition', `attachment; filename="activation-letters-${batch.batchId}.pdf"`);
    res.setHeader('Cache-Control', 'no-store');
    // Where the batch report is (printed / skipped and why).
    res.setHeader('X-Letter-Batch', batch.batchId);
    await writeLettersPdf(batch.letters, this.config.clinicName, res);
  }
}
