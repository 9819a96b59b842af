import { ArgumentsHost, Catch, ConflictException, ExceptionFilter, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { FormValidationException } from '../common/validation/form-validation.exception';
import { PatientDashboardService } from './patient-dashboard.service';
import { typedDetailsValues } from '../patients/patients.service';
import { message } from '../i18n/messages';

/**
 * A refused change on the dashboard re-renders the tab it came from, with the messages
 * and what was typed (400, or 409 for a concurrent change); nothing was saved.
 */
@Injectable()
@Catch(FormValidationException, ConflictException)
export class PatientFormFilter implements ExceptionFilter {
  constructor(private readonly dashboard: PatientDashboardService) {}

  async catch(exception: FormValidationException | ConflictException, host: ArgumentsHost): Promise<void> {
    const req = host.switchToHttp().getRequest<Request>();
    const res = host.switchToHttp().getResponse<Response>();
    const tab = req.path.endsWith('/details') ? 'details' : 'portal';
    const invalid = exception instanceof FormValidationException;
    const model = await this.dashboard.model(Number(req.params.id), tab);
    res.status(invalid ? 400 : 409).render('patients/dashboard', {
      ...model,
      editing: tab === 'details',
      // Which portal-tab form to reopen, by the last part of the path (email, username, disable).
      openForm: req.path.split('/').pop(),
      // The representative whose edit/revoke form was refused (several share the field names).
      openRepresentative: Number(req.params.repId) || null,
      values: tab === 'details' ? typedDetailsValues(req.body ?? {}) : (req.body ?? {}),
      errors: invalid ? exception.fieldErrors : {},
      flash: {
        kind: 'error',
        message: invalid ? message('staff:flash.correctFields') : exception.message,
      },
    });
  }
}
