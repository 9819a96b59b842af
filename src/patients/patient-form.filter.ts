import { ArgumentsHost, Catch, ConflictException, ExceptionFilter, Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';
import { FormValidationException } from '../common/validation/form-validation.exception';
import { PatientsService } from './patients.service';

/** A refused edit re-renders the dashboard with the messages and what was typed; nothing is saved. */
@Injectable()
@Catch(FormValidationException, ConflictException)
export class PatientFormFilter implements ExceptionFilter {
  constructor(private readonly patients: PatientsService) {}

  async catch(exception: FormValidationException | ConflictException, host: ArgumentsHost): Promise<void> {
    const req = host.switchToHttp().getRequest<Request>();
    const res = host.switchToHttp().getResponse<Response>();
    const summary = await this.patients.summary(Number(req.params.id));
    const conflict = exception instanceof ConflictException;
    res.status(conflict ? 409 : 400).render('patients/dashboard', {
      ...summary,
      tab: 'details',
      editing: true,
      values: req.body ?? {},
      errors: conflict ? {} : exception.fieldErrors,
      flash: { kind: 'error', message: conflict ? exception.message : 'Please correct the highlighted fields. Nothing was saved.' },
    });
  }
}
