import { Body, Get, Param, Post, Req } from '@nestjs/common';
import type { Request } from 'express';
import { Audit, type AuditContext } from '../../audit/audit-context';
import { PatientController, RepresentativesToo } from '../../common/access/audience';
import { seeOther } from '../../common/views/flash';
import { renderInstead, View } from '../../common/views/view.decorator';
import { ChangePasswordDto } from '../../auth/dto/change-password.dto';
import { SessionHandleParam } from '../dto/account-forms.dto';
import { CurrentAccountHolder } from '../patient-session';
import { type AccountPrincipal, holderOf, PortalAccountService } from './portal-account.service';
import { PortalSessionsService } from './portal-sessions.service';
import { message } from '../../i18n/messages';

const ACCOUNT = '/portal/account';

/** The signed-in account holder's session: a patient's, or a representative's own. */
const signedInOf = (req: Request) => (req.session.representative ?? req.session.patient)!;

/**
 * The signed-in account holder's own account page (a patient's or a representative's): password,
 * open sessions, access history.
 */
@PatientController('account')
export class PortalAccountController {
  constructor(
    private readonly account: PortalAccountService,
    private readonly sessions: PortalSessionsService,
  ) {}

  @Get()
  @RepresentativesToo()
  @View('portal/account')
  page(@CurrentAccountHolder() holder: AccountPrincipal, @Req() req: Request) {
    return this.account.page(holder, signedInOf(req).generation, signedInOf(req).handle);
  }

  @Get('password')
  @RepresentativesToo()
  @View('portal/change-password')
  passwordPage() {
    return {};
  }

  /** Every session of the account ends; this one goes on under a new session id. */
  @Post('password')
  @RepresentativesToo()
  @View('portal/change-password', { invalid: 'portal/change-password' })
  async changePassword(
    @Body() form: ChangePasswordDto,
    @CurrentAccountHolder() holder: AccountPrincipal,
    @Req() req: Request,
    @Audit() audit: AuditContext,
  ) {
    const result = await this.account.changePassword(holder, form, audit);
    if (!result.ok) {
      req.res!.status(400);
      return renderInstead('portal/change-password', { errors: result.errors });
    }
    await this.sessions.signIn(req, holderOf(holder), result.generation, audit, signedInOf(req).mustEnrol);
    return seeOther(ACCOUNT, { flash: message('messages:done.passwordChanged') });
  }

  @Post('sessions/others/end')
  @RepresentativesToo()
  @View('portal/account')
  async endOthers(@CurrentAccountHolder() holder: AccountPrincipal, @Req() req: Request, @Audit() audit: AuditContext) {
    const count = await this.account.endOtherSessions(holder, signedInOf(req).handle, audit);
    return seeOther(ACCOUNT, {
      flash: count ? message('messages:done.signedOutOthers', { count }) : message('messages:done.noOtherSession'),
    });
  }

  @Post('sessions/:handle/end')
  @RepresentativesToo()
  @View('portal/account')
  async endOne(
    @Param() param: SessionHandleParam,
    @CurrentAccountHolder() holder: AccountPrincipal,
    @Req() req: Request,
    @Audit() audit: AuditContext,
  ) {
    const signedIn = signedInOf(req);
    await this.account.endSession(holder, signedIn.generation, signedIn.handle, param.handle, audit);
    return seeOther(ACCOUNT, { flash: message('messages:done.sessionSignedOut') });
  }
}
