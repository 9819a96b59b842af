import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { AdminUsersController } from './admin-users.controller';

@Module({ imports: [AuthModule], controllers: [AdminUsersController] })
export class AdminModule {}
