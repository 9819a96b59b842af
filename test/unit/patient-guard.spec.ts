import { Controller, ExecutionContext, Get, type Type } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { PatientController, PortalPublic } from '../../src/common/access/audience';
import { SignInRequiredException } from '../../src/common/errors/sign-in-required.exception';
import type { AppConfig } from '../../src/config/app-config';
import type { PatientAccountsService } from '../../src/portal/patient-accounts.service';
import { PatientAuthGuard } from '../../src/portal/patient-session';
import type { PortalSessionsService } from '../../src/portal/account/portal-sessions.service';
import type { RepresentativeSignInService } from '../../src/portal/representative-sign-in.service';

// Routes declared here the way a future feature would declare them.
@PatientController('new-page')
class NewPatientPages {
  @Get()
  unmarked() {}

  @Get('open')
  @PortalPublic()
  open() {}
}

@Controller('staff-page')
class StaffPages {
  @Get()
  page() {}
}

const contextFor = (controller: Type, handler: () => void, session: object | undefined = {}) =>
  ({
    getHandler: () => handler,
    getClass: () => controller,
    switchToHttp: () => ({ getRequest: () => ({ session }) }),
  }) as unknown as ExecutionContext;

describe('the patient guard denies by default', () => {
  const principalForSession = jest.fn();
  const sut = new PatientAuthGuard(
    new Reflector(),
    { principalForSession } as unknown as PatientAccountsService,
    { principalForSession: jest.fn() } as unknown as RepresentativeSignInService,
    { patientIdleMinutes: 15, patientAbsoluteHours: 12 } as AppConfig,
    { isOpen: principalForSession } as unknown as PortalSessionsService,
  );

  it('sends an anonymous visitor of a new, unmarked patient route to the portal sign-in', async () => {
    await expect(sut.canActivate(contextFor(NewPatientPages, NewPatientPages.prototype.unmarked))).rejects.toBeInstanceOf(
      SignInRequiredException,
    );
    await expect(sut.canActivate(contextFor(NewPatientPages, NewPatientPages.prototype.unmarked))).rejects.toMatchObject({
      loginPath: '/portal/login',
    });
    expect(principalForSession).not.toHaveBeenCalled();
  });

  it('lets an anonymous visitor through a @PortalPublic() route', async () => {
    await expect(sut.canActivate(contextFor(NewPatientPages, NewPatientPages.prototype.open))).resolves.toBe(true);
  });

  it('leaves staff routes to the staff guard', async () => {
    await expect(sut.canActivate(contextFor(StaffPages, StaffPages.prototype.page))).resolves.toBe(true);
  });
});
