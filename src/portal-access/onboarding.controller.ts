import { BadRequestException, Body, Controller, Get, HttpCode, Param, ParseIntPipe, ParseUUIDPipe, Post, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Audit, type AuditContext } from '../audit/audit-context';
import { View } from '../common/views/view.decorator';
import { BulkSelectionDto, OnboardingPageQueryDto, toOnboardingFilter, toSelection } from './dto/onboarding-filter.dto';
import { filterParams } from './onboarding-filter';
import { describeInviteSummary, OnboardingActionsService, type Selection } from './onboarding-actions.service';
import { OnboardingQueryService } from './onboarding-query.service';
import { resultsModel } from './onboarding-view';

/** htmx listens for this on the results table and reloads it (after bulk changes). */
const RESULTS_CHANGED = 'onboarding-changed';

const patientId = new ParseIntPipe({ exceptionFactory: () => new BadRequestException('The patient id must be a whole number.') });
const batchId = new ParseUUIDPipe({ exceptionFactory: () => new BadRequestException('The batch id is not valid.') });

/**
 * The Patient Portal Onboarding Tool (DESIGN.md "The onboarding page"). Each POST
 * answers htmx with the partial it replaces and a plain browser with a full page.
 */
@Controller('portal-onboarding')
export class OnboardingController {
  constructor(
    private readonly query: OnboardingQueryService,
    private readonly actions: OnboardingActionsService,
  ) {}

  @Get()
  @View('portal-access/index', { fragment: 'portal-access/_results' })
  async index(@Query() dto: OnboardingPageQueryDto, @Audit() audit: AuditContext) {
    const filter = toOnboardingFilter(dto);
    const [page, options] = await Promise.all([this.query.page({ filter, sort: dto.sort, size: dto.size, after: dto.after, before: dto.before }, audit), this.query.filterOptions()]);
    return { title: 'Pt Portal Onboarding Tool', values: dto, options, ...resultsModel(filter, page, dto) };
  }

  /** The red block: enable access, answer with the row (now gray, with "Send Invite to …"). */
  @Post('patients/:id/enable')
  @HttpCode(200)
  @View('portal-access/patient-action', { fragment: 'portal-access/_row' })
  async enable(@Param('id', patientId) id: number, @Audit() audit: AuditContext) {
    const { row, changed } = await this.actions.enableOne(id, audit);
    const message = changed ? `Portal access enabled for ${row.fullName}.` : `Portal access was already enabled for ${row.fullName}; nothing changed.`;
    return { row, focusInvite: true, flash: { kind: 'success', message } };
  }

  /** The "Send Invite to <email>" link: answer with the row (now orange, with the delivery state). */
  @Post('patients/:id/invite')
  @HttpCode(200)
  @View('portal-access/patient-action', { fragment: 'portal-access/_row' })
  async invite(@Param('id', patientId) id: number, @Audit() audit: AuditContext) {
    const { row, summary } = await this.actions.inviteOne(id, audit);
    const kind = summary.resets > 0 ? 'A password-reset email' : 'An invite';
    return { row, focusInvite: true, flash: { kind: 'success', message: `${kind} to ${row.email} is on its way.` } };
  }

  @Post('bulk/enable')
  @HttpCode(200)
  @View('portal-access/bulk', { fragment: 'portal-access/_bulk-result' })
  async bulkEnable(@Body() dto: BulkSelectionDto, @Audit() audit: AuditContext, @Res({ passthrough: true }) res: Response) {
    const result = await this.actions.enableSelection(toSelection(dto), audit);
    res.setHeader('HX-Trigger', RESULTS_CHANGED);
    const already = result.alreadyEnabled.length ? `; ${result.alreadyEnabled.length} already had access and were left unchanged` : '';
    const deceased = result.deceased.length ? `; ${result.deceased.length} skipped: deceased` : '';
    return { partial: 'portal-access/_bulk-result.njk', message: `Portal access enabled for ${result.enabled.length} ${result.enabled.length === 1 ? 'patient' : 'patients'}${already}${deceased}.` };
  }

  /** First step of "Send Portal Invites": say what will happen and ask to confirm. */
  @Post('bulk/invite/preview')
  @HttpCode(200)
  @View('portal-access/bulk', { fragment: 'portal-access/_bulk-confirm' })
  async bulkInvitePreview(@Body() dto: BulkSelectionDto) {
    const selection = toSelection(dto);
    const summary = await this.actions.previewInvites(selection);
    return { partial: 'portal-access/_bulk-confirm.njk', summary, emails: summary.invites + summary.resets, text: describeInviteSummary(summary, 'will'), selection: selectionFields(selection) };
  }

  @Post('bulk/invite')
  @HttpCode(200)
  @View('portal-access/bulk', { fragment: 'portal-access/_bulk-progress' })
  async bulkInvite(@Body() dto: BulkSelectionDto, @Audit() audit: AuditContext, @Res({ passthrough: true }) res: Response) {
    const summary = await this.actions.sendInvites(toSelection(dto), audit);
    const progress = summary.batchId ? await this.actions.batchProgress(summary.batchId) : null;
    res.setHeader('HX-Trigger', RESULTS_CHANGED);
    return { partial: 'portal-access/_bulk-progress.njk', batchId: summary.batchId, progress, text: describeInviteSummary(summary, 'did') };
  }

  /** Polled every 2 s by the progress box (X-Background-Poll: does not extend the idle timeout). */
  @Get('bulk/batches/:batchId')
  @View('portal-access/bulk', { fragment: 'portal-access/_bulk-progress' })
  async bulkProgress(@Param('batchId', batchId) id: string, @Res({ passthrough: true }) res: Response) {
    const progress = await this.actions.batchProgress(id);
    if (progress.done) res.setHeader('HX-Trigger', RESULTS_CHANGED);
    return { partial: 'portal-access/_bulk-progress.njk', batchId: id, progress };
  }
}

/** Hidden fields that carry a selection from the confirmation to the send. */
function selectionFields(selection: Selection): [string, string][] {
  if (selection.scope === 'ids') return selection.ids.map((id) => ['ids', String(id)]);
  return [['scope', 'filter'], ...filterParams(selection.filter)];
}
