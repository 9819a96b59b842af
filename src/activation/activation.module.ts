import { Module } from '@nestjs/common';
import { InvitationsModule } from '../invitations/invitations.module';
import { RemindersController } from './reminders.controller';
import { RemindersRepository } from './reminders.repository';
import { RemindersScheduler } from './reminders.scheduler';
import { RemindersService } from './reminders.service';

/** From invited to active (issue 17): reminders, the worklist, the activation report, bounces. */
@Module({
  imports: [InvitationsModule],
  controllers: [RemindersController],
  providers: [RemindersRepository, RemindersService, RemindersScheduler],
  exports: [RemindersService],
})
export class ActivationModule {}
