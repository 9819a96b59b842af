import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  ParseIntPipe,
  ParseUUIDPipe,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { ClinicClock } from '../common/time/clinic-time';
import type { Request, Response } from 'express';
import { Audit, type AuditContext } from '../audit/audit-context';
import { sendCsv } from '../common/csv-output';
import { seeOther, type SeeOther } from '../common/views/flash';
import { isHtmxRequest } from '../common/views/htmx';
import { View } from '../common/views/view.decorator';
import { BulkSelectionDto, OnboardingPageQueryDto, toOnboardingFilter, toSelection } from './dto/onboarding-filter.dto';
import { pageProblem, parseOnboardingQuery, withoutMissingReferences } from './onboarding-query-params';
import { filterParams, queryString } from './onboarding-filter';
import { describeInviteSummary, OnboardingActionsService, type Selection } from './onboarding-actions.service';
import { BATCH_REPORT_HEADER, ONBOARDING_EXPORT_HEADER, OnboardingExportService } from './onboarding-export.service';
import { OnboardingQueryService } from './onboarding-query.service';
import { resultsModel } from './onboarding-view';
import { message as staffMessage } from '../i18n/messages';

/** htmx listens for this on the results table and reloads it (after bulk changes). */
const RESULTS_CHANGED = 'onboarding-changed';
/**
 * After bulk Enable the reload must see the kept selection that the same response puts on
 * the page, so the event fires after the swap (HX-Trigger fires before it).
 */
const AFTER_SWAP = 'HX-Trigger-After-Swap';

/** The filters that show a message next to themselves (views/portal-access/_filter-problem.njk). */
const FILTER_FIELDS = ['q', 'tag', 'provider', 'access', 'username', 'representative', 'apptAfter', 'apptBefore', 'status'];

const patientId = new ParseIntPipe({ exceptionFactory: () => new BadRequestException(staffMessage('staff:refusal.patientId')) });
const batchId = new ParseUUIDPipe({ exceptionFactory: () => new BadRequestException(staffMessage('staff:refusal.batchId')) });

/**
 * The Patient Portal Onboarding Tool (DESIGN.md "The onboarding page"). Each POST answers
 * htmx with the partial it replaces, and a plain browser (JavaScript off) with 303 to a GET
 * page that shows the same thing (post/redirect/get: Back and Reload never re-post).
 */
@Controller('portal-onboarding')
export class OnboardingController {
  constructor(
    private readonly query: OnboardingQueryService,
    private readonly actions: OnboardingActionsService,
    private readonly exports: OnboardingExportService,
    private readonly clock: ClinicClock,
  ) {}

  /**
   * The page. The query string is read leniently (a bookmark never breaks it): unknown
   * parameters are ignored and a bad value is left out with a message next to its filter.
   */
  @Get()
  @View('portal-access/index', { fragment: 'portal-access/_results' })
  async index(@Query() raw: Record<string, unknown>, @Audit() audit: AuditContext) {
    const parsed = parseOnboardingQuery(raw);
    const { dto, problems, notices } = withoutMissingReferences(
      parsed,
      await this.query.missingReferences(parsed.dto.tag, parsed.dto.provider),
    );
    const filter = toOnboardingFilter(dto, this.clock);
    const kept: Selection | null =
      dto.scope === 'filter' ? toSelection(dto, this.clock) : dto.ids ? { scope: 'ids', ids: dto.ids } : null;
    const [page, options, keptTotal] = await Promise.all([
      this.query.page({ filter, sort: dto.sort, size: dto.size, after: dto.after, before: dto.before, page: dto.page }, audit),
      this.query.filterOptions(),
      kept?.scope === 'filter' && kept.enabledBatch ? this.actions.selectionSize(kept, audit) : Promise.resolve(null),
    ]);
    if (dto.page && !dto.after && !dto.before && dto.page > page.pages) problems.page ??= pageProblem(page.pages);
    return {
      values: dto,
      options,
      problems,
      problemList: Object.values(problems),
      notices,
      filterFields: FILTER_FIELDS,
      ...resultsModel(filter, page, dto, kept, keptTotal),
    };
  }

  /** One row, polled while its email is queued (X-Background-Poll: does not extend the idle timeout). */
  @Get('patients/:id/row')
  @View('portal-access/patient-action', { fragment: 'portal-access/_row' })
  async row(@Param('id', patientId) id: number) {
    const [row] = await this.query.rows([id]);
    if (!row) throw new NotFoundException(staffMessage('staff:refusal.noPatient', { id }));
    return { row };
  }

  /** The red block: enable access, answer with the row (now gray, with "Send Invite to …"). */
  @Post('patients/:id/enable')
  @HttpCode(200)
  @View('portal-access/patient-action', { fragment: 'portal-access/_row' })
  async enable(@Param('id', patientId) id: number, @Audit() audit: AuditContext, @Req() req: Request) {
    const { row, changed } = await this.actions.enableOne(id, audit);
    const key = changed ? 'staff:row.enabled' : 'staff:row.alreadyEnabled';
    return rowAnswer(req, row, staffMessage(key, { name: row.fullName }));
  }

  /** The "Send Invite to <email>" link: answer with the row (now orange, with the delivery state). */
  @Post('patients/:id/invite')
  @HttpCode(200)
  @View('portal-access/patient-action', { fragment: 'portal-access/_row' })
  async invite(@Param('id', patientId) id: number, @Audit() audit: AuditContext, @Req() req: Request) {
    const { row, summary } = await this.actions.inviteOne(id, audit);
    const key = summary.resets > 0 ? 'staff:row.resetOnItsWay' : 'staff:row.inviteOnItsWay';
    return rowAnswer(req, row, staffMessage(key, { email: row.email ?? '' }));
  }

  @Post('bulk/enable')
  @HttpCode(200)
  @View('portal-access/bulk', { fragment: 'portal-access/_bulk-result' })
  async bulkEnable(
    @Body() dto: BulkSelectionDto,
    @Audit() audit: AuditContext,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    const selection = toSelection(dto, this.clock);
    const result = await this.actions.enableSelection(selection, audit);
    // One whole sentence per case (a key each), never clauses glued together.
    const already = result.alreadyEnabled.length;
    const deceased = result.deceased.length;
    const variant = (already ? 'Already' : '') + (deceased ? 'Deceased' : '');
    const message = staffMessage(`staff:bulk.enabled${variant}`, { count: result.enabled.length, already, deceased });
    const keptText = staffMessage('staff:bulk.kept', { count: result.requested });
    const kept = keptFields(selection, result.batchId);
    // Without JavaScript: the list as it was filtered, with the same patients still selected.
    if (!isHtmxRequest(req))
      return seeOther(`/portal-onboarding?${queryString([...filterParams(toOnboardingFilter(dto, this.clock)), ...kept])}`, {
        flash: { kind: 'success', message: [message, keptText] },
      });
    res.setHeader(AFTER_SWAP, RESULTS_CHANGED);
    return { message, kept, keptText };
  }

  /** First step of "Send Portal Invites": say what will happen and ask to confirm. */
  @Post('bulk/invite/preview')
  @HttpCode(200)
  @View('portal-access/bulk', { fragment: 'portal-access/_bulk-confirm' })
  async bulkInvitePreview(@Body() dto: BulkSelectionDto, @Audit() audit: AuditContext, @Req() req: Request) {
    const selection = toSelection(dto, this.clock);
    // Without JavaScript: the same question on a GET page (below), so a reload asks it again.
    if (!isHtmxRequest(req)) return seeOther(`/portal-onboarding/bulk/invite/preview?${queryString(selectionFields(selection))}`);
    return this.invitePreview(selection, audit);
  }

  /** The confirmation as a page of its own, where a browser without JavaScript lands. */
  @Get('bulk/invite/preview')
  @View('portal-access/bulk', { fragment: 'portal-access/_bulk-confirm' })
  async bulkInvitePreviewPage(@Query() dto: BulkSelectionDto, @Audit() audit: AuditContext) {
    return this.invitePreview(toSelection(dto, this.clock), audit);
  }

  private async invitePreview(selection: Selection, audit: AuditContext) {
    const summary = await this.actions.previewInvites(selection, audit);
    return {
      summary,
      emails: summary.invites + summary.resets,
      text: describeInviteSummary(summary, 'will'),
      selection: selectionFields(selection),
    };
  }

  @Post('bulk/invite')
  @HttpCode(200)
  @View('portal-access/bulk', { fragment: 'portal-access/_bulk-progress' })
  async bulkInvite(
    @Body() dto: BulkSelectionDto,
    @Audit() audit: AuditContext,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    const summary = await this.actions.sendInvites(toSelection(dto, this.clock), audit);
    const text = describeInviteSummary(summary, 'did');
    // Without JavaScript: the batch's progress page (its Refresh link polls by hand).
    if (!isHtmxRequest(req))
      return seeOther(summary.batchId ? `/portal-onboarding/bulk/batches/${summary.batchId}` : '/portal-onboarding', {
        flash: { kind: 'success', message: text, clauses: true },
      });
    const progress = summary.batchId ? await this.actions.batchProgress(summary.batchId) : null;
    res.setHeader('HX-Trigger', RESULTS_CHANGED);
    return { batchId: summary.batchId, progress, text };
  }

  /** Polled every 2 s by the progress box (X-Background-Poll: does not extend the idle timeout). */
  @Get('bulk/batches/:batchId')
  @View('portal-access/bulk', { fragment: 'portal-access/_bulk-progress' })
  async bulkProgress(@Param('batchId', batchId) id: string, @Res({ passthrough: true }) res: Response) {
    const progress = await this.actions.batchProgress(id);
    if (progress.done) res.setHeader('HX-Trigger', RESULTS_CHANGED);
    return { batchId: id, progress };
  }

  /**
   * "Download CSV": the same filters (and sort) as the page, every matching row. Unlike the page,
   * a bad filter value is refused (400): silently dropping it would export more patients than asked.
   */
  @Get('export.csv')
  async exportList(@Query() dto: OnboardingPageQueryDto, @Audit() audit: AuditContext, @Res() res: Response) {
    const batches = await this.exports.onboardingList(toOnboardingFilter(dto, this.clock), dto.sort ?? 'name', audit);
    await sendCsv(res, `portal-onboarding-${new Date().toISOString().slice(0, 10)}.csv`, ONBOARDING_EXPORT_HEADER, batches);
  }

  /** The report of a bulk invite batch: every patient with its outcome. */
  @Get('bulk/batches/:batchId/report.csv')
  async batchReport(@Param('batchId', batchId) id: string, @Audit() audit: AuditContext, @Res() res: Response) {
    const batches = await this.exports.batchReport(id, audit);
    await sendCsv(res, `invite-batch-${id.slice(0, 8)}-report.csv`, BATCH_REPORT_HEADER, batches);
  }
}

/**
 * A row action's answer: htmx swaps the row (with its message); a plain browser is sent to the
 * row's own page, which shows the message once.
 */
function rowAnswer(req: Request, row: { id: number }, message: string): SeeOther | Record<string, unknown> {
  if (!isHtmxRequest(req)) return seeOther(`/portal-onboarding/patients/${row.id}/row`, { flash: message });
  return { row, focusInvite: true, flash: { kind: 'success', message } };
}

/** Hidden fields that carry a selection from the confirmation to the send. */
export function selectionFields(selection: Selection): [string, string][] {
  if (selection.scope === 'ids') return selection.ids.map((id) => ['ids', String(id)]);
  return [
    ['scope', 'filter'],
    ...filterParams(selection.filter),
    ...(selection.enabledBatch ? [['enabledBatch', selection.enabledBatch] as [string, string]] : []),
  ];
}

/**
 * The selection kept after bulk Enable, for the results reload (the seed's two steps: the same
 * patients for "Send Portal Invites"). Ticked ids as they were; "all matching" as the batch that
 * Enable wrote (the reload carries the filter itself).
 */
function keptFields(selection: Selection, enableBatch: string | null): [string, string][] {
  if (selection.scope === 'ids') return selectionFields(selection);
  return [['scope', 'filter'], ...(enableBatch ? [['enabledBatch', enableBatch] as [string, string]] : [])];
}
