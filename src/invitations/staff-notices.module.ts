import { Global, Module } from '@nestjs/common';
import { StaffNoticeMailer } from '../auth/staff-notice-mailer';
import { InvitationsModule } from './invitations.module';
import { StaffNoticesService } from './staff-notices.service';

/** Global so Auth can inject its StaffNoticeMailer port without importing Invitations (architecture rule). */
@Global()
@Module({
  imports: [InvitationsModule],
  providers: [StaffNoticesService, { provide: StaffNoticeMailer, useExisting: StaffNoticesService }],
  exports: [StaffNoticeMailer],
})
export class StaffNoticesModule {}
