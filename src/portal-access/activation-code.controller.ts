import { Body, Controller, Get, Param, ParseIntPipe, Post, Req, UseFilters } from '@nestjs/common';
import type { Request } from 'express';
import { toDataURL } from 'qrcode';
import { Audit, type AuditContext } from '../audit/audit-context';
import { seeOther, takeShownOnce } from '../common/views/flash';
import { View } from '../common/views/view.decorator';
import { ActivationCodesService, type IssuedActivation } from '../portal-access/activation-codes/activation-codes.service';
import { ShowActivationCodeDto, ShowRepresentativeCodeDto } from './dto/patient-portal.dto';
import { RepresentativesService } from './representatives/representatives.service';
import { PatientFormFilter } from './patient-form.filter';
import { message } from '../i18n/messages';

/** The code, handed from the POST to the page it redirects to, and shown there once. */
const SHOWN_CODE = 'activationCode';

/**
 * "Activate on the patient's phone" (issue #18): staff checked a photo ID and show a QR code
 * and a typed code; the page then polls (as background activity, so the staff idle timeout
 * still runs) until the patient has finished on their phone.
 */
@Controller('patients/:id/portal/activation-code')
export class ActivationCodeController {
  constructor(
    private readonly activation: ActivationCodesService,
    private readonly representatives: RepresentativesService,
  ) {}

  @Post()
  @UseFilters(PatientFormFilter)
  @View('portal-access/activation-code')
  async show(@Param('id', ParseIntPipe) id: number, @Body() _form: ShowActivationCodeDto, @Audit() audit: AuditContext) {
    const issued = await this.activation.issueInClinic(id, audit);
    return seeOther(`/patients/${id}/portal/activation-code`, { shownOnce: { [SHOWN_CODE]: issued } });
  }

  /** The same for a representative at the desk (their photo ID checked): a code for their own account. */
  @Post('representatives/:repId')
  @UseFilters(PatientFormFilter)
  @View('portal-access/activation-code')
  async showForRepresentative(
    @Param('id', ParseIntPipe) id: number,
    @Param('repId', ParseIntPipe) repId: number,
    @Body() _form: ShowRepresentativeCodeDto,
    @Audit() audit: AuditContext,
  ) {
    const issued = await this.representatives.issueInClinic(id, repId, audit);
    return seeOther(`/patients/${id}/portal/activation-code`, { shownOnce: { [SHOWN_CODE]: issued } });
  }

  /** Shown once: a reload (or a second tab) finds nothing and sends staff back to make a new one. */
  @Get()
  @View('portal-access/activation-code')
  async page(@Param('id', ParseIntPipe) id: number, @Req() req: Request) {
    const issued = takeShownOnce<IssuedActivation & { expiresAt: string | Date; representativeName?: string }>(req, SHOWN_CODE);
    if (!issued || issued.patientId !== id)
      return seeOther(`/patients/${id}?tab=portal`, {
        flash: { kind: 'info', message: message('staff:flash.codeShownOnce') },
      });
    // A data: image (CSP allows img-src data:): no script, and the link is never stored.
    const qr = await toDataURL(issued.url, { errorCorrectionLevel: 'M', margin: 2, scale: 6 });
    return {
      patientId: id,
      tokenId: issued.tokenId,
      code: issued.code,
      expiresAt: new Date(issued.expiresAt),
      qr,
      // Where the code is typed: the link without its token.
      activateUrl: issued.url.replace(/\/[^/]+$/, ''),
      progress: 'waiting',
      // A representative's code sets up their own account (issue #16): the page says whose it is.
      representativeName: issued.representativeName ?? null,
      forRepresentative: Boolean(issued.representativeName),
    };
  }

  /** The polled status box (htmx fragment). */
  @Get(':tokenId/progress')
  @View('portal-access/activation-progress', { fragment: 'portal-access/_activation-progress' })
  async progress(@Param('id', ParseIntPipe) id: number, @Param('tokenId', ParseIntPipe) tokenId: number) {
    const state = await this.activation.progress(id, tokenId);
    return {
      patientId: id,
      tokenId,
      progress: state?.progress ?? 'revoked',
      forRepresentative: state?.forRepresentative ?? false,
    };
  }
}
