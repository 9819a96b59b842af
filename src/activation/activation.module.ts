import { Module } from '@nestjs/common';
import { InvitationsModule } from '../invitations/invitations.module';
import { PortalAccessModule } from '../portal-access/portal-access.module';
import { ActivationReportController } from './activation-report.controller';
import { ActivationReportRepository } from './activation-report.repository';
import { ActivationReportService } from './activation-report.service';
import { BounceListener } from './bounce-listener.service';
import { RemindersController } from './reminders.controller';
import { RemindersRepository } from './reminders.repository';
import { RemindersScheduler } from './reminders.scheduler';
import { RemindersService } from './reminders.service';
import { WorklistController } from './worklist.controller';
import { WorklistService } from './worklist.service';

/** From invited to active (issue 17): reminders, the worklist, the activation report, bounces. */
@Module({
  imports: [InvitationsModule, PortalAccessModule],
  controllers: [RemindersController, WorklistController, ActivationReportController],
  providers: [
    RemindersRepository,
    RemindersService,
    RemindersScheduler,
    WorklistService,
    ActivationReportRepository,
    ActivationReportService,
    BounceListener,
  ],
  exports: [RemindersService],
})
export class ActivationModule {}
