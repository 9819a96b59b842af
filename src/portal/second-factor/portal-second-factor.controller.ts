import { Body, Get, Post, Req } from '@nestjs/common';
import type { Request } from 'express';
import { Audit, type AuditContext } from '../../audit/audit-context';
import { SecondFactorCodeDto } from '../../auth/mfa/dto/second-factor.dto';
import { WRONG_ENROLMENT_CODE } from '../../auth/mfa/second-factor.service';
import { PatientController } from '../../common/access/audience';
import { seeOther, takeShownOnce } from '../../common/views/flash';
import { renderInstead, View } from '../../common/views/view.decorator';
import { accountIdOf } from '../account/portal-account.service';
import type { PatientPrincipal } from '../patient-accounts.service';
import { CurrentPatient, OpenDuringEnrolment, PORTAL_ENROLMENT_PATH } from '../patient-session';
import { PortalSecondFactorService } from './portal-second-factor.service';
import { message } from '../../i18n/messages';

const CODES = 'portalRecoveryCodes';
const CODES_PAGE = `${PORTAL_ENROLMENT_PATH}/recovery-codes`;

/** The account holder's own second factor: an authenticator app and recovery codes. */
@PatientController('account/second-factor')
export class PortalSecondFactorController {
  constructor(private readonly factors: PortalSecondFactorService) {}

  @Get()
  @OpenDuringEnrolment()
  @View('portal/second-factor')
  async page(@CurrentPatient() patient: PatientPrincipal, @Req() req: Request) {
    return this.model(patient, req);
  }

  @Post('totp')
  @OpenDuringEnrolment()
  @View('portal/second-factor', { invalid: 'portal/second-factor' })
  async activate(
    @Body() form: SecondFactorCodeDto,
    @CurrentPatient() patient: PatientPrincipal,
    @Req() req: Request,
    @Audit() audit: AuditContext,
  ) {
    const activated = await this.factors.activateTotp(accountIdOf(patient), form.code, audit);
    if (!activated) {
      req.res!.status(400);
      return renderInstead('portal/second-factor', {
        ...(await this.model(patient, req)),
        errors: { code: [WRONG_ENROLMENT_CODE] },
      });
    }
    // Enrolled: a session that had to enrol is a full one now.
    delete req.session.patient!.mustEnrol;
    if (!activated.recoveryCodes) return seeOther(PORTAL_ENROLMENT_PATH, { flash: message('messages:done.authenticatorSetUp') });
    return seeOther(CODES_PAGE, { shownOnce: { [CODES]: activated.recoveryCodes } });
  }

  @Post('totp/remove')
  @View('portal/second-factor')
  async remove(@CurrentPatient() patient: PatientPrincipal, @Audit() audit: AuditContext) {
    await this.factors.removeTotp(accountIdOf(patient), audit);
    return seeOther(PORTAL_ENROLMENT_PATH, {
      flash: message('messages:done.authenticatorRemoved'),
    });
  }

  /** Replaces every recovery code; the new ones are shown once, on the page this redirects to. */
  @Post('recovery-codes')
  @View('portal/recovery-codes')
  async regenerate(@CurrentPatient() patient: PatientPrincipal, @Audit() audit: AuditContext) {
    const codes = await this.factors.regenerateRecoveryCodes(accountIdOf(patient), audit);
    return seeOther(CODES_PAGE, { shownOnce: { [CODES]: codes } });
  }

  /** Read once from the session: a reload says they were shown. */
  @Get('recovery-codes')
  @OpenDuringEnrolment()
  @View('portal/recovery-codes')
  recoveryCodes(@Req() req: Request) {
    return { codes: takeShownOnce<string[]>(req, CODES) ?? null };
  }

  private async model(patient: PatientPrincipal, req: Request) {
    const accountId = accountIdOf(patient);
    const status = await this.factors.status(accountId);
    return {
      status,
      mustEnrol: Boolean(req.session.patient?.mustEnrol),
      totp: status.totp ? null : await this.factors.totpSetup(accountId, patient.username),
    };
  }
}
