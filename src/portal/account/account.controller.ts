import { Body, Get, Param, Post, Req } from '@nestjs/common';
import type { Request } from 'express';
import { Audit, type AuditContext } from '../../audit/audit-context';
import { PatientController } from '../../common/access/audience';
import { seeOther } from '../../common/views/flash';
import { renderInstead, View } from '../../common/views/view.decorator';
import { ChangePasswordDto } from '../../auth/dto/change-password.dto';
import { SessionHandleParam } from '../dto/account-forms.dto';
import type { PatientPrincipal } from '../patient-accounts.service';
import { CurrentPatient } from '../patient-session';
import { accountIdOf, PortalAccountService } from './portal-account.service';
import { PortalSessionsService } from './portal-sessions.service';
import { message } from '../../i18n/messages';

const ACCOUNT = '/portal/account';

/** The signed-in account holder's own account page: password, open sessions, access history. */
@PatientController('account')
export class PortalAccountController {
  constructor(
    private readonly account: PortalAccountService,
    private readonly sessions: PortalSessionsService,
  ) {}

  @Get()
  @View('portal/account')
  page(@CurrentPatient() patient: PatientPrincipal, @Req() req: Request) {
    return this.account.page(patient, req.session.patient!.generation, req.session.patient!.handle);
  }

  @Get('password')
  @View('portal/change-password')
  passwordPage() {
    return {};
  }

  /** Every session of the account ends; this one goes on under a new session id. */
  @Post('password')
  @View('portal/change-password', { invalid: 'portal/change-password' })
  async changePassword(
    @Body() form: ChangePasswordDto,
    @CurrentPatient() patient: PatientPrincipal,
    @Req() req: Request,
    @Audit() audit: AuditContext,
  ) {
    const result = await this.account.changePassword(patient, form, audit);
    if (!result.ok) {
      req.res!.status(400);
      return renderInstead('portal/change-password', { errors: result.errors });
    }
    await this.sessions.signIn(req, accountIdOf(patient), result.generation, audit, req.session.patient?.mustEnrol);
    return seeOther(ACCOUNT, { flash: message('messages:done.passwordChanged') });
  }

  @Post('sessions/others/end')
  @View('portal/account')
  async endOthers(@CurrentPatient() patient: PatientPrincipal, @Req() req: Request, @Audit() audit: AuditContext) {
    const count = await this.account.endOtherSessions(patient, req.session.patient!.handle, audit);
    return seeOther(ACCOUNT, {
      flash: count ? message('messages:done.signedOutOthers', { count }) : message('messages:done.noOtherSession'),
    });
  }

  @Post('sessions/:handle/end')
  @View('portal/account')
  async endOne(
    @Param() param: SessionHandleParam,
    @CurrentPatient() patient: PatientPrincipal,
    @Req() req: Request,
    @Audit() audit: AuditContext,
  ) {
    const signedIn = req.session.patient!;
    await this.account.endSession(patient, signedIn.generation, signedIn.handle, param.handle, audit);
    return seeOther(ACCOUNT, { flash: message('messages:done.sessionSignedOut') });
  }
}
