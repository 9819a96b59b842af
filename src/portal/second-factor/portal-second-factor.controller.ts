import { Body, Get, HttpCode, Param, ParseIntPipe, Post, Req } from '@nestjs/common';
import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import type { Request } from 'express';
import { Audit, type AuditContext } from '../../audit/audit-context';
import { PasskeyRegistrationDto, SecondFactorCodeDto } from '../../auth/mfa/dto/second-factor.dto';
import { storeChallenge, takeChallenge } from '../../auth/mfa/pending-sign-in';
import { WRONG_ENROLMENT_CODE } from '../../auth/mfa/second-factor.service';
import { PatientController, RepresentativesToo } from '../../common/access/audience';
import { keepForNextPage, seeOther, takeShownOnce } from '../../common/views/flash';
import { renderInstead, View } from '../../common/views/view.decorator';
import { ceremonyOf } from '../account/account-holder';
import { accountActor, type AccountPrincipal, holderOf, PortalAccountService } from '../account/portal-account.service';
import { CurrentAccountHolder, OpenDuringEnrolment, PORTAL_ENROLMENT_PATH } from '../patient-session';
import { PortalPasskeyNameDto, RemovePasskeyDto } from './passkey-forms.dto';
import { PortalSecondFactorService } from './portal-second-factor.service';
import { message } from '../../i18n/messages';

const CODES = 'portalRecoveryCodes';
const CODES_PAGE = `${PORTAL_ENROLMENT_PATH}/recovery-codes`;

/** The signed-in account holder's own second factor (a patient's, or a representative's own): an authenticator app, passkeys and recovery codes. */
const signedInOf = (req: Request) => (req.session.representative ?? req.session.patient)!;

@PatientController('account/second-factor')
@RepresentativesToo()
export class PortalSecondFactorController {
  constructor(
    private readonly factors: PortalSecondFactorService,
    private readonly account: PortalAccountService,
  ) {}

  @Get()
  @OpenDuringEnrolment()
  @View('portal/second-factor')
  async page(@CurrentAccountHolder() patient: AccountPrincipal, @Req() req: Request) {
    return this.model(patient, req);
  }

  @Post('totp')
  @OpenDuringEnrolment()
  @View('portal/second-factor', { invalid: 'portal/second-factor' })
  async activate(
    @Body() form: SecondFactorCodeDto,
    @CurrentAccountHolder() patient: AccountPrincipal,
    @Req() req: Request,
    @Audit() audit: AuditContext,
  ) {
    const activated = await this.factors.activateTotp(holderOf(patient), form.code, accountActor(patient, audit));
    if (!activated) {
      req.res!.status(400);
      return renderInstead('portal/second-factor', {
        ...(await this.model(patient, req)),
        errors: { code: [WRONG_ENROLMENT_CODE] },
      });
    }
    // Enrolled: a session that had to enrol is a full one now.
    delete signedInOf(req).mustEnrol;
    if (!activated.recoveryCodes) return seeOther(PORTAL_ENROLMENT_PATH, { flash: message('portal:secondFactor.appSetUp') });
    return seeOther(CODES_PAGE, { shownOnce: { [CODES]: activated.recoveryCodes } });
  }

  @Post('totp/remove')
  @View('portal/second-factor')
  async remove(@CurrentAccountHolder() patient: AccountPrincipal, @Req() req: Request, @Audit() audit: AuditContext) {
    await this.factors.removeTotp(holderOf(patient), accountActor(patient, audit));
    return seeOther(PORTAL_ENROLMENT_PATH, { flash: message('portal:secondFactor.appRemoved') });
  }

  /** The passkey ceremony (static/js/passkeys.js): JSON in and out, the CSRF token in a header. */
  @Post('passkeys/options')
  @OpenDuringEnrolment()
  @HttpCode(200)
  async passkeyOptions(@CurrentAccountHolder() patient: AccountPrincipal, @Req() req: Request) {
    const holder = holderOf(patient);
    const options = await this.factors.passkeyRegistrationOptions(holder, {
      username: patient.username,
      displayName: ('fullName' in patient ? patient.fullName : patient.firstName) || patient.username,
    });
    storeChallenge(req, ceremonyOf(holder, 'register'), holder.id, options.challenge);
    return options;
  }

  /** Stores the new passkey; the browser goes to the recovery codes (the first factor) or back to this page. */
  @Post('passkeys')
  @OpenDuringEnrolment()
  @HttpCode(200)
  async registerPasskey(
    @Body() form: PasskeyRegistrationDto,
    @CurrentAccountHolder() patient: AccountPrincipal,
    @Req() req: Request,
    @Audit() audit: AuditContext,
  ) {
    const holder = holderOf(patient);
    const challenge = takeChallenge(req, ceremonyOf(holder, 'register'), holder.id);
    const added = await this.factors.registerPasskey(
      holder,
      form.name,
      form.response as unknown as RegistrationResponseJSON,
      challenge,
      accountActor(patient, audit),
    );
    // Enrolled: a session that had to enrol is a full one now.
    delete signedInOf(req).mustEnrol;
    const next = added.recoveryCodes
      ? seeOther(CODES_PAGE, { shownOnce: { [CODES]: added.recoveryCodes } })
      : seeOther(PORTAL_ENROLMENT_PATH, { flash: message('portal:passkeys.added', { name: added.passkey.name }) });
    keepForNextPage(req, next);
    return { redirect: next.__seeOther };
  }

  /** A new name for one of the account's passkeys (audited; the access history shows it). */
  @Post('passkeys/:id/name')
  @View('portal/second-factor', { invalid: 'portal/passkey-name' })
  async renamePasskey(
    @Param('id', ParseIntPipe) id: number,
    @Body() form: PortalPasskeyNameDto,
    @CurrentAccountHolder() patient: AccountPrincipal,
    @Audit() audit: AuditContext,
  ) {
    const renamed = await this.factors.renamePasskey(holderOf(patient), id, form.name, accountActor(patient, audit));
    return seeOther(PORTAL_ENROLMENT_PATH, {
      flash: renamed.changed
        ? message('portal:passkeys.renamed', { from: renamed.from, name: renamed.name })
        : message('portal:passkeys.nameUnchanged'),
    });
  }

  /** Asks for the password again; a wrong one counts with the sign-in failures. */
  @Post('passkeys/:id/remove')
  @View('portal/second-factor')
  async removePasskey(
    @Param('id', ParseIntPipe) id: number,
    @Body() form: RemovePasskeyDto,
    @CurrentAccountHolder() patient: AccountPrincipal,
    @Req() req: Request,
    @Audit() audit: AuditContext,
  ) {
    const result = form.currentPassword
      ? await this.account.removePasskey(patient, id, form.currentPassword, audit)
      : ({ ok: false, error: 'empty' } as const);
    if (!result.ok) {
      req.res!.status(400);
      return renderInstead('portal/second-factor', {
        ...(await this.model(patient, req)),
        passkeyErrors: { [id]: [message(`portal:passkeys.errors.${result.error === 'wrong' ? 'wrongPassword' : result.error}`)] },
      });
    }
    return seeOther(PORTAL_ENROLMENT_PATH, { flash: message('portal:passkeys.removed', { name: result.name }) });
  }

  /** Replaces every recovery code; the new ones are shown once, on the page this redirects to. */
  @Post('recovery-codes')
  @View('portal/recovery-codes')
  async regenerate(@CurrentAccountHolder() patient: AccountPrincipal, @Audit() audit: AuditContext) {
    const codes = await this.factors.regenerateRecoveryCodes(holderOf(patient), accountActor(patient, audit));
    return seeOther(CODES_PAGE, { shownOnce: { [CODES]: codes } });
  }

  /** Read once from the session: a reload says they were shown. */
  @Get('recovery-codes')
  @OpenDuringEnrolment()
  @View('portal/recovery-codes')
  recoveryCodes(@Req() req: Request) {
    return { codes: takeShownOnce<string[]>(req, CODES) ?? null };
  }

  private async model(patient: AccountPrincipal, req: Request) {
    const holder = holderOf(patient);
    const status = await this.factors.status(holder);
    return {
      status,
      mustEnrol: Boolean(signedInOf(req).mustEnrol),
      representative: 'representativeAccountId' in patient,
      totp: status.totp ? null : await this.factors.totpSetup(holder, patient.username),
      passkeyOptionsUrl: `${PORTAL_ENROLMENT_PATH}/passkeys/options`,
      passkeyVerifyUrl: `${PORTAL_ENROLMENT_PATH}/passkeys`,
    };
  }
}
