import { Get, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { Audit, type AuditContext } from '../../audit/audit-context';
import { PatientController, PortalPublic } from '../../common/access/audience';
import { redirectSaved, seeOther, type SeeOther } from '../../common/views/flash';
import { type OtherView, renderInstead, View } from '../../common/views/view.decorator';
import { maskEmail } from '../../invitations/account-notices.service';
import { tokenHashOf } from '../../invitations/portal-tokens.service';
import { EmailChangeService } from './email-change.service';

type LinkKind = 'verify' | 'report';

declare module 'express-session' {
  interface SessionData {
    /** Between opening an email-change link and pressing its button: the token's hash, never the token. */
    emailChangeLink?: { tokenHash: string; kind: LinkKind };
  }
}

const PATHS: Record<LinkKind, string> = { verify: '/portal/email-change/confirm', report: '/portal/email-change/report' };

/**
 * The two email-change links: "confirm this address" (sent to the new address) and "this
 * wasn't me" (sent to the old one). Like invite links, the GET with the token only checks it,
 * keeps its hash in the session and redirects to a token-free page (mail scanners prefetch
 * links); only the POST from that page acts.
 */
@PatientController('email-change')
@PortalPublic()
export class EmailChangeLinksController {
  constructor(private readonly emailChanges: EmailChangeService) {}

  @Get('confirm/:token')
  openConfirm(@Param('token') token: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.open('verify', token, req, res);
  }

  @Get('report/:token')
  openReport(@Param('token') token: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.open('report', token, req, res);
  }

  @Get('confirm')
  @View('portal/email-change')
  confirmPage(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    return this.page('verify', req, res);
  }

  @Get('report')
  @View('portal/email-change')
  reportPage(@Req() req: Request, @Res({ passthrough: true }) res: Response) {
    return this.page('report', req, res);
  }

  @Post('confirm')
  @UseGuards(ThrottlerGuard)
  @View('portal/email-change')
  async confirm(@Req() req: Request, @Res({ passthrough: true }) res: Response, @Audit() audit: AuditContext) {
    const done = await this.emailChanges.confirm(linkOf(req, 'verify'), audit);
    return this.finish(done, '/portal/email-change/confirmed', req, res);
  }

  @Post('report')
  @UseGuards(ThrottlerGuard)
  @View('portal/email-change')
  async report(@Req() req: Request, @Res({ passthrough: true }) res: Response, @Audit() audit: AuditContext) {
    const outcome = await this.emailChanges.report(linkOf(req, 'report'), audit);
    return this.finish(
      outcome !== null,
      `/portal/email-change/reported${outcome === 'after_change' ? '?after=change' : ''}`,
      req,
      res,
    );
  }

  /** Where a used link lands (post/redirect/get): a reload shows the same words and changes nothing. */
  @Get('confirmed')
  @View('portal/email-change')
  confirmed() {
    return { kind: 'verify', step: 'done' };
  }

  @Get('reported')
  @View('portal/email-change')
  reported(@Query('after') after?: string) {
    return { kind: 'report', step: 'done', completed: after === 'change' };
  }

  private async open(kind: LinkKind, token: string, req: Request, res: Response): Promise<void> {
    const tokenHash = tokenHashOf(token);
    if (!tokenHash || !(await this.emailChanges.usableByLink(kind, tokenHash)))
      return void res.status(410).render('portal/link-invalid');
    req.session.emailChangeLink = { tokenHash, kind };
    await redirectSaved(req, res, PATHS[kind]);
  }

  private async page(kind: LinkKind, req: Request, res: Response) {
    const request = await this.emailChanges.usableByLink(kind, linkOf(req, kind));
    if (!request) return invalid(res);
    // The new address sees itself in full (it is reading its own mailbox); the old one only masked.
    return {
      kind,
      step: 'ask',
      address: kind === 'verify' ? request.newEmail : maskEmail(request.newEmail),
      completed: request.status === 'confirmed',
      action: PATHS[kind],
    };
  }

  private finish(done: boolean, landing: string, req: Request, res: Response): SeeOther | OtherView {
    if (!done) return invalid(res);
    delete req.session.emailChangeLink;
    return seeOther(landing);
  }
}

function linkOf(req: Request, kind: LinkKind): string | null {
  const link = req.session?.emailChangeLink;
  return link && link.kind === kind ? link.tokenHash : null;
}

function invalid(res: Response) {
  res.status(410);
  return renderInstead('portal/link-invalid');
}
