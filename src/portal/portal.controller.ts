import { Body, Get, Post, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { Audit, type AuditContext } from '../audit/audit-context';
import { PATIENT_COOKIE } from '../auth/session.setup';
import { PatientController, PortalPublic, RepresentativesToo } from '../common/access/audience';
import { safeNextPath } from '../common/safe-next';
import { seeOther } from '../common/views/flash';
import { renderInstead } from '../common/views/view.decorator';
import { View } from '../common/views/view.decorator';
import { ForgotPasswordDto, PortalLoginDto, PortalLoginPageQuery } from './dto/portal-forms.dto';
import { PatientAccountsService, type PatientPrincipal } from './patient-accounts.service';
import { CurrentPatient, CurrentRepresentative } from './patient-session';
import { type RepresentativePrincipal, RepresentativeSignInService } from './representative-sign-in.service';
import { PatientSignInFailedException, PortalSignInFailedFilter } from './portal-sign-in-failed.filter';
import { startSessionClock } from '../auth/session-activity';

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
    const representativeId = 'representativeAccountId' in patient ? patient.representativeAccountId : null;
    const generation = representativeId
      ? await this.representatives.sessionGenerationOf(representativeId)
      : await this.accounts.sessionGenerationOf((patient as PatientPrincipal).patientId);
    // A new session id at sign-in: a cookie planted before sign-in is worth nothing after it.
    req.session.regenerate((error) => {
      if (error) return res.status(500).end();
      if (representativeId) req.session.representative = { accountId: representativeId, generation };
      else req.session.patient = { patientId: (patient as PatientPrincipal).patientId, generation };
      startSessionClock(req);
      req.session.save(() => res.redirect(303, portalNext(form.next)));
    });
  }

  /** Open to an expired session too: signing out always clears the cookie. */
  @Post('logout')
  @PortalPublic()
  async logout(@Req() req: Request, @Res() res: Response, @Audit() audit: AuditContext): Promise<void> {
    if (req.session.patient) await this.accounts.recordSignOut(req.session.patient, audit);
    if (req.session.representative) await this.representatives.recordSignOut(req.session.representative.accountId, audit);
    req.session.destroy(() => {
      res.clearCookie(PATIENT_COOKIE, { path: '/portal' });
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

  @Get('forgot-password/sent')
  @PortalPublic()
  @View('portal/forgot-password-sent')
  forgotSent() {
    return {};
  }
}
