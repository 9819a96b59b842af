import { Body, Get, Param, Post, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { Audit, type AuditContext } from '../audit/audit-context';
import { sessionCookies } from '../auth/session.setup';
import { PatientController, PortalPublic, RepresentativesToo } from '../common/access/audience';
import { safeNextPath } from '../common/safe-next';
import { redirectSaved, seeOther } from '../common/views/flash';
import { renderInstead } from '../common/views/view.decorator';
import { View } from '../common/views/view.decorator';
import { ForgotPasswordDto, PortalLoginDto, PortalLoginPageQuery } from './dto/portal-forms.dto';
import { PatientAccountsService, type PatientPrincipal } from './patient-accounts.service';
import { CurrentPatient, CurrentRepresentative } from './patient-session';
import { patientHolder, representativeHolder } from './account/account-holder';
import { type RepresentativePrincipal, RepresentativeSignInService } from './representative-sign-in.service';
import { PatientSignInFailedException, PortalSignInFailedFilter } from './portal-sign-in-failed.filter';
import { PortalSessionsService } from './account/portal-sessions.service';
import { PortalSecondStepService } from './second-factor/portal-second-step.service';
import type { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { LANGUAGE_COOKIE, languageCookieOptions, matchLanguage } from '../i18n/language-choice';

/** Only portal pages are valid destinations after a patient signs in. */
const portalNext = (next: unknown) => {
  const path = safeNextPath(next, '/portal');
  return path === '/portal' || path.startsWith('/portal/') || path.startsWith('/portal?') ? path : '/portal';
};

/** The patient's own pages: sign-in, home, sign-out, forgot password. Home needs a patient session; the rest are @PortalPublic(). */
@PatientController()
export class PortalController {
  constructor(
    private readonly accounts: PatientAccountsService,
    private readonly sessions: PortalSessionsService,
    private readonly secondStep: PortalSecondStepService,
    @InjectConfig() private readonly config: AppConfig,
    private readonly representatives: RepresentativeSignInService,
  ) {}

  /** The patient's home, or a representative's: the patients they may act for and until when. */
  @Get()
  @RepresentativesToo()
  @View('portal/home')
  async home(
    @CurrentPatient() patient: PatientPrincipal | undefined,
    @CurrentRepresentative() representative: RepresentativePrincipal | undefined,
  ) {
    if (representative) return renderInstead('portal/representative-home', await this.representatives.home(representative));
    return { firstName: patient!.firstName };
  }

  @Get('login')
  @PortalPublic()
  @View('portal/login')
  loginPage(@Query() query: PortalLoginPageQuery) {
    return { next: query.next ? portalNext(query.next) : '' };
  }

  @Post('login')
  @PortalPublic()
  @UseGuards(ThrottlerGuard)
  @UseFilters(PortalSignInFailedFilter)
  async login(
    @Body() form: PortalLoginDto,
    @Req() req: Request,
    @Res() res: Response,
    @Audit() audit: AuditContext,
  ): Promise<void> {
    const patient = await this.accounts.authenticate(form.username, form.password, audit);
    if (!patient) throw new PatientSignInFailedException();
    // A representative signs in to their own account; the second step and the policy are the same.
    const holder =
      'representativeAccountId' in patient
        ? representativeHolder(patient.representativeAccountId)
        : patientHolder(patient.patientId);
    const next = await this.secondStep.afterPassword(req, holder, patient.secondStep, portalNext(form.next), audit);
    await redirectSaved(req, res, next);
  }

  /** Open to an expired session too: signing out always clears the cookie. */
  @Post('logout')
  @PortalPublic()
  async logout(@Req() req: Request, @Res() res: Response, @Audit() audit: AuditContext): Promise<void> {
    const signedIn = req.session.patient;
    if (signedIn) {
      await this.sessions.end(patientHolder(signedIn.patientId), signedIn.handle, 'signed_out');
      await this.accounts.recordSignOut(signedIn, audit);
    }
    const representative = req.session.representative;
    if (representative) {
      await this.sessions.end(representativeHolder(representative.accountId), representative.handle, 'signed_out');
      await this.representatives.recordSignOut(representative.accountId, audit);
    }
    req.session.destroy(() => {
      const { name, ...cookie } = sessionCookies(this.config).patient;
      res.clearCookie(name, cookie);
      res.setHeader('Clear-Site-Data', '"cache", "storage"');
      res.redirect(303, '/portal/login');
    });
  }

  @Get('forgot-password')
  @PortalPublic()
  @View('portal/forgot-password')
  forgotPage() {
    return {};
  }

  /** The same answer whether or not an account matches. */
  @Post('forgot-password')
  @PortalPublic()
  @UseGuards(ThrottlerGuard)
  @View('portal/forgot-password-sent', { invalid: 'portal/forgot-password' })
  async forgot(@Body() form: ForgotPasswordDto, @Audit() audit: AuditContext) {
    await this.accounts.requestReset(form.identifier, audit);
    // Post/redirect/get: reloading the answer does not ask for another email.
    return seeOther('/portal/forgot-password/sent');
  }

  /**
   * The language switch. A GET link on purpose: it only sets a preference cookie (no record changes, nothing to
   * forge), works on pages that carry no form token, and keeps the link-invalid page byte-identical across causes.
   */
  @Get('language/:lang')
  @PortalPublic()
  async chooseLanguage(
    @Param('lang') lang: string,
    @Query() query: PortalLoginPageQuery,
    @Req() req: Request,
    @Res() res: Response,
    @Audit() audit: AuditContext,
  ): Promise<void> {
    const language = matchLanguage(lang, this.config.languages);
    if (language) {
      res.cookie(LANGUAGE_COOKIE, language, languageCookieOptions(this.config.cookieSecure));
      // A signed-in representative's choice is also their own language: their emails follow it.
      const representative = req.session?.representative;
      if (representative) {
        await this.representatives.chooseLanguage(representative, language, audit);
        req.session.patientLanguage = language;
      }
    }
    await redirectSaved(req, res, portalNext(query.next));
  }

  @Get('forgot-password/sent')
  @PortalPublic()
  @View('portal/forgot-password-sent')
  forgotSent() {
    return {};
  }
}
