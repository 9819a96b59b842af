import { Module } from '@nestjs/common';
import { InvitationsModule } from '../invitations/invitations.module';
import { PatientsModule } from '../patients/patients.module';
import { ActivationCodesService } from './activation-codes/activation-codes.service';
import { ActivationLettersService } from './activation-codes/activation-letters.service';
import { InvitationsService } from './invitations.service';
import { PortalAccountsRepository } from './portal-accounts.repository';
import { RepresentativeAccountsRepository } from './representative-accounts.repository';
import { PatientLockoutColumns, RepresentativeLockoutColumns } from './lockout-columns.repository';

/**
 * The portal_accounts table's owner and the invite plan (who gets an invite or a reset, and the
 * account rows it marks), without the rest of portal-access: the patient portal (forgot password)
 * uses them too. Invitations (tokens, outbox) sits below and knows nothing of accounts.
 */
@Module({
  imports: [InvitationsModule, PatientsModule],
  providers: [
    PortalAccountsRepository,
    RepresentativeAccountsRepository,
    PatientLockoutColumns,
    RepresentativeLockoutColumns,
    InvitationsService,
    ActivationCodesService,
    ActivationLettersService,
  ],
  exports: [
    PortalAccountsRepository,
    RepresentativeAccountsRepository,
    PatientLockoutColumns,
    RepresentativeLockoutColumns,
    InvitationsService,
    ActivationCodesService,
    ActivationLettersService,
  ],
})
export class PortalAccountsModule {}
