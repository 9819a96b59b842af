import { Body, Get, Param, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { Audit, type AuditContext } from '../audit/audit-context';
import { PatientController, PortalPublic } from '../common/access/audience';
import { redirectSaved, seeOther, takeShownOnce } from '../common/views/flash';
import { renderInstead, View } from '../common/views/view.decorator';
import { followPatientLanguage } from '../i18n/portal-language';
import { NewLinkService } from './new-link.service';
import { ActivationCodesService } from '../portal-access/activation-codes/activation-codes.service';
import { ACTIVATION_PURPOSES } from '../invitations/entities/portal-token.entity';
import { type LinkPurposes, type TokenHolder, tokenHashOf } from '../invitations/portal-tokens.service';
import { ActivateDto, ActivationCodeDto, IdentityAnswersDto, SetPasswordDto } from './dto/portal-forms.dto';
import { linkGreeting, PatientAccountsService } from './patient-accounts.service';
import { message } from '../i18n/messages';

/** What every dead link shows: the same page whatever the reason, naming nobody. */
const LINK_INVALID = { template: 'portal/link-invalid', status: 410 } as const;

/**
 * The emailed links. GET /portal/invite/:token checks the token, keeps its hash in the
 * session and redirects to a token-free URL (the token leaves the address bar, history and
 * Referer at once); the form there consumes it on POST. Nothing is consumed by a GET.
 */
const ACCOUNT_READY = 'accountReady';
/** How many tries a wrong identity answer left, handed to the form it redirects to. */
const IDENTITY_WRONG = 'identityWrong';

/** The three link pages: /portal/invite, /portal/reset and /portal/activate (in-clinic codes and letters). */
export type LinkRoute = 'invite' | 'reset' | 'activate';
const PURPOSES_OF: Record<LinkRoute, LinkPurposes> = { invite: 'invite', reset: 'reset', activate: ACTIVATION_PURPOSES };

/** Every route here is reached without a patient session (the links are how a patient gets one). */
@PatientController()
@PortalPublic()
export class PortalLinksController {
  constructor(
    private readonly accounts: PatientAccountsService,
    private readonly newLinks: NewLinkService,
    private readonly activation: ActivationCodesService,
  ) {}

  /** The QR code's link (in the clinic, or printed in a letter). */
  @Get('activate/:token')
  openActivation(
    @Param('token') token: string,
    @Req() req: Request,
    @Res() res: Response,
    @Audit() audit: AuditContext,
  ): Promise<void> {
    return this.open('activate', token, req, res, audit);
  }

  /** Typing the code instead: found by its hash, then the same steps as the link. */
  @Post('activate/code')
  @UseGuards(ThrottlerGuard)
  @View('portal/activate-code', { invalid: 'portal/activate-code' })
  async enterCode(
    @Body() form: ActivationCodeDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Audit() audit: AuditContext,
  ) {
    const tokenHash = await this.activation.tokenHashOfTypedCode(form.code);
    const check = await this.accounts.checkLink(tokenHash, PURPOSES_OF.activate, audit, 'open');
    if (!check.ok || !tokenHash) {
      res.status(400);
      return { errors: { code: [message('messages:activationCode.wrong')] } };
    }
    req.session.portalLink = { tokenHash, purpose: 'activate' };
    return seeOther('/portal/activate');
  }

  @Get('activate')
  @View('portal/set-password')
  activateForm(@Req() req: Request, @Res({ passthrough: true }) res: Response, @Audit() audit: AuditContext) {
    // Without a link in the session the page asks for the typed code.
    if (linkOf(req, 'activate') === null) return renderInstead('portal/activate-code');
    return this.form('activate', req, res, audit);
  }

  @Post('activate/identity')
  @UseGuards(ThrottlerGuard)
  @View('portal/identity-check', { invalid: 'portal/identity-check' })
  answerActivateIdentity(
    @Body() form: IdentityAnswersDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Audit() audit: AuditContext,
  ) {
    return this.answerIdentity('activate', form, req, res, audit);
  }

  @Post('activate')
  @UseGuards(ThrottlerGuard)
  @View('portal/set-password', { invalid: 'portal/set-password' })
  async activate(
    @Body() form: ActivateDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Audit() audit: AuditContext,
  ) {
    return this.submit('activate', form, req, res, audit, form.email?.trim() || null);
  }

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

  @Post('invite/identity')
  @UseGuards(ThrottlerGuard)
  @View('portal/identity-check', { invalid: 'portal/identity-check' })
  answerInviteIdentity(
    @Body() form: IdentityAnswersDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Audit() audit: AuditContext,
  ) {
    return this.answerIdentity('invite', form, req, res, audit);
  }

  @Post('reset/identity')
  @UseGuards(ThrottlerGuard)
  @View('portal/identity-check', { invalid: 'portal/identity-check' })
  answerResetIdentity(
    @Body() form: IdentityAnswersDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @Audit() audit: AuditContext,
  ) {
    return this.answerIdentity('reset', form, req, res, audit);
  }

  /** Where a set password lands (post/redirect/get); what it says is read once, a reload shows plain sign-in help. */
  @Get('account-ready')
  @View('portal/account-ready')
  accountReady(@Req() req: Request) {
    return takeShownOnce<{ purpose: LinkRoute; username: string; emailToConfirm: string | null }>(req, ACCOUNT_READY) ?? {};
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

  private async open(purpose: LinkRoute, token: string, req: Request, res: Response, audit: AuditContext): Promise<void> {
    const tokenHash = tokenHashOf(token);
    const check = await this.accounts.checkLink(tokenHash, PURPOSES_OF[purpose], audit, 'open');
    if (!check.ok || !tokenHash) {
      // Kept for "Send me a new link" whatever the reason, so the page cannot tell reasons apart.
      if (tokenHash) req.session.deadLink = tokenHash;
      return renderInvalid(res);
    }
    req.session.portalLink = { tokenHash, purpose };
    await redirectSaved(req, res, `/portal/${purpose}`);
  }

  private async form(purpose: LinkRoute, req: Request, res: Response, audit: AuditContext) {
    const link = linkOf(req, purpose);
    const check = await this.accounts.checkLink(link, PURPOSES_OF[purpose], audit, 'form');
    if (!check.ok) return invalidModel(res);
    followPatientLanguage(req, res, check.holder.preferredLanguage);
    // Nothing about the patient (not even the first name) before the identity check passes.
    if (!req.session.portalLink?.identityChecked) {
      const attemptsLeft = takeShownOnce<number>(req, IDENTITY_WRONG);
      return renderInstead('portal/identity-check', {
        purpose,
        questions: this.accounts.expectedAnswersOf(check.holder).map((answer) => answer.question),
        ...(attemptsLeft === undefined ? {} : { wrong: true, attemptsLeft }),
      });
    }
    return formModel(purpose, check.holder);
  }

  private async answerIdentity(purpose: LinkRoute, form: IdentityAnswersDto, req: Request, res: Response, audit: AuditContext) {
    const result = await this.accounts.checkIdentity(linkOf(req, purpose), PURPOSES_OF[purpose], { ...form }, audit);
    switch (result.outcome) {
      case 'passed':
        req.session.portalLink = { ...req.session.portalLink!, identityChecked: true };
        return seeOther(`/portal/${purpose}`);
      case 'wrong':
        return seeOther(`/portal/${purpose}`, { shownOnce: { [IDENTITY_WRONG]: result.attemptsLeft } });
      case 'unanswerable':
        res.status(400);
        return { purpose, questions: result.questions, errors: result.errors };
      case 'locked':
        delete req.session.portalLink;
        res.status(410);
        return renderInstead('portal/identity-locked');
      default:
        return invalidModel(res);
    }
  }

  private async submit(
    purpose: LinkRoute,
    form: SetPasswordDto,
    req: Request,
    res: Response,
    audit: AuditContext,
    email: string | null = null,
  ) {
    // The password form is reached only through the identity check; a direct POST changes nothing.
    if (!req.session.portalLink?.identityChecked) return seeOther(`/portal/${purpose}`);
    const result = await this.accounts.setPassword(linkOf(req, purpose), PURPOSES_OF[purpose], form, audit, email);
    if (result.outcome === 'invalid_link') return invalidModel(res);
    if (result.outcome === 'rejected') {
      followPatientLanguage(req, res, result.holder.preferredLanguage);
      res.status(400);
      return {
        ...formModel(purpose, result.holder),
        errors: result.errors,
        values: { username: form.username ?? '', email: email ?? '' },
      };
    }
    // No automatic sign-in: the link's session is replaced by an empty one and the patient signs in normally.
    const language = req.session.patientLanguage;
    await new Promise<void>((resolve, reject) => req.session.regenerate((error) => (error ? reject(error) : resolve())));
    // "Your account is ready" is still in the patient's language.
    if (language) req.session.patientLanguage = language;
    return seeOther('/portal/account-ready', {
      shownOnce: { [ACCOUNT_READY]: { purpose, username: result.username, emailToConfirm: result.emailToConfirm ?? null } },
    });
  }
}

/** The password form: a username is chosen on an invite, or on an activation link when the holder has none yet. */
function formModel(purpose: LinkRoute, holder: TokenHolder) {
  const greeting = linkGreeting(holder);
  const choosesUsername = holder.purpose === 'invite' || (purpose === 'activate' && !greeting.username);
  return {
    purpose,
    choosesUsername,
    // A representative's address is the one staff recorded: only a patient adds one here.
    asksEmail: purpose === 'activate' && !holder.representative,
    firstName: greeting.firstName,
    username: greeting.username,
  };
}

function linkOf(req: Request, purpose: LinkRoute): string | null {
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
