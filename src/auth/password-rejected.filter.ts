import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { StaffPrincipal } from './staff-principal';
import { PasswordRejectedException } from './staff-users.service';

/** A refused new password re-renders the form with the reasons (status 400), changing nothing. */
@Catch(PasswordRejectedException)
export class PasswordRejectedFilter implements ExceptionFilter {
  catch(exception: PasswordRejectedException, host: ArgumentsHost): void {
    const req = host.switchToHttp().getRequest<Request>();
    res(host)
      .status(400)
      .render('account/password', {
        mustChange: (req.user as StaffPrincipal | undefined)?.mustChangePassword ?? false,
        errors: { newPassword: exception.problems },
      });
  }
}

const res = (host: ArgumentsHost) => host.switchToHttp().getResponse<Response>();
