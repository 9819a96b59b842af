import { Body, Get, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { Audit, type AuditContext } from '../audit/audit-context';
import { PatientController, PortalPublic } from '../common/access/audience';
import { seeOther, takeShownOnce } from '../common/views/flash';
import { renderInstead, View } from '../common/views/view.decorator';
import type { PortalTokenPurpose } from '../invitations/entities/portal-token.entity';
import { tokenHashOf } from '../invitations/portal-tokens.service';
import { followPatientLanguage } from '../i18n/portal-language';
import { SetPasswordDto } from './dto/portal-forms.dto';
import { NewLinkService } from './new-link.service';
import { linkGreeting, PatientAccountsService } from './patient-accounts.service';

/** What every dead link shows: the same page whatever the reason, naming nobody. */
const LINK_INVALID = { template: 'portal/link-invalid', status: 410 } as const;

/**
 * The emailed links. GET /portal/invite/:token checks the token, keeps its hash in the
 * session and redirects to a token-free URL (the token leaves the address bar, history and
 * Referer at once); the form there consumes it on POST. Nothing is consumed by a GET.
 */
const ACCOUNT_READY = 'accountReady';

/** Every route here is reached without a patient session (the links are how a patient gets one). */
@PatientController()
@PortalPublic()
export class PortalLinksController {
  constructor(
    private readonly accounts: PatientAccountsService,
    private readonly newLinks: NewLinkService,
  ) {}

  @Get('invite/:token')
  openInvite(
    @Param('token') token: string,
    @Req() req: Request,
    @Res() res: Response,
    @Audit() audit: AuditContext,
  ): Promise<void> {
    return this.open('invite', token, req, res, audit);
  }

  @Get('reset/:token')
  openReset(
    @Param('token') token: string,
    @Req() req: Request,
    @Res() res: Response,
    @Audit() audit: AuditContext,
  ): Promise<void> {
    return this.open('reset', token, req, res, audit);
  }

  @Get('invite')
  @View('portal/set-password')
  inviteForm(@Req() req: Request, @Res({ passthrough: true }) res: Response, @Audit() audit: AuditContext) {
    return this.form('invite', req, res, audit);
  }

  @Get('reset')
  @View('portal/set-password')
  resetForm(@Req() req: Request, @Res({ passthrough: true }) res: Response, @Audit() audit: AuditContext) {
    return this.form('reset', req, res, audit);
  }

  /** Where a set password lands (post/redirect/get); what it says is read once, a reload shows plain sign-in help. */
  @Get('account-ready')
  @View('portal/account-ready')
  accountReady(@Req() req: Request) {
    return takeShownOnce<{ purpose: PortalTokenPurpose; username: string }>(req, ACCOUNT_READY) ?? {};
  }

  @Post('invite')
  @UseGuards(ThrottlerGuard)
  @View('portal/set-password', { invalid: 'portal/set-password' })
  acceptInvite(
    @Body() form: SetPasswordDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Audit() audit: AuditContext,
  ) {
    return this.submit('invite', form, req, res, audit);
  }

  @Post('reset')
  @UseGuards(ThrottlerGuard)
  @View('portal/set-password', { invalid: 'portal/set-password' })
  acceptReset(
    @Body() form: SetPasswordDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Audit() audit: AuditContext,
  ) {
    return this.submit('reset', form, req, res, audit);
  }

  /** "Send me a new link" from a dead link's page: the same answer whatever happened (NewLinkService). */
  @Post('new-link')
  @UseGuards(ThrottlerGuard)
  @View('portal/new-link-sent')
  async newLink(@Req() req: Request, @Audit() audit: AuditContext) {
    const deadLink = req.session.deadLink;
    delete req.session.deadLink;
    await this.newLinks.request(deadLink, audit);
    return seeOther('/portal/new-link/sent');
  }

  @Get('new-link/sent')
  @View('portal/new-link-sent')
  newLinkSent() {
    return {};
  }

  private async open(
    purpose: PortalTokenPurpose,
    token: string,
    req: Request,
    res: Response,
    audit: AuditContext,
  ): Promise<void> {
    const tokenHash = tokenHashOf(token);
    const check = await this.accounts.checkLink(tokenHash, purpose, audit, 'open');
    if (!check.ok || !tokenHash) {
      // Kept for "Send me a new link" whatever the reason, so the page cannot tell reasons apart.
      if (tokenHash) req.session.deadLink = tokenHash;
      return renderInvalid(res);
    }
    req.session.portalLink = { tokenHash, purpose };
    req.session.save(() => res.redirect(303, `/portal/${purpose}`));
  }

  private async form(purpose: PortalTokenPurpose, req: Request, res: Response, audit: AuditContext) {
    const link = linkOf(req, purpose);
    const check = await this.accounts.checkLink(link, purpose, audit, 'form');
    if (!check.ok) return invalidModel(res);
    followPatientLanguage(req, res, check.holder.preferredLanguage);
    const greeting = linkGreeting(check.holder);
    return { purpose, firstName: greeting.firstName, username: greeting.username };
  }

  private async submit(purpose: PortalTokenPurpose, form: SetPasswordDto, req: Request, res: Response, audit: AuditContext) {
    const result = await this.accounts.setPassword(linkOf(req, purpose), purpose, form, audit);
    if (result.outcome === 'invalid_link') return invalidModel(res);
    if (result.outcome === 'rejected') {
      followPatientLanguage(req, res, result.holder.preferredLanguage);
      res.status(400);
      return {
        purpose,
        ...pick(linkGreeting(result.holder)),
        errors: result.errors,
        values: { username: form.username ?? '' },
      };
    }
    // No automatic sign-in: the link's session is replaced by an empty one and the patient signs in normally.
    await new Promise<void>((resolve, reject) => req.session.regenerate((error) => (error ? reject(error) : resolve())));
    return seeOther('/portal/account-ready', { shownOnce: { [ACCOUNT_READY]: { purpose, username: result.username } } });
  }
}

const pick = ({ firstName, username }: { firstName: string; username: string | null }) => ({ firstName, username });

function linkOf(req: Request, purpose: PortalTokenPurpose): string | null {
  const link = req.session.portalLink;
  return link && link.purpose === purpose ? link.tokenHash : null;
}

function invalidModel(res: Response) {
  res.status(LINK_INVALID.status);
  return renderInstead(LINK_INVALID.template);
}

function renderInvalid(res: Response): void {
  res.status(LINK_INVALID.status).render(LINK_INVALID.template);
}
