import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { SetupController } from './setup.controller';
import { SetupTokenService } from './setup-token.service';

/** First-run setup: the one-time link that creates the first admin. */
@Module({
  imports: [AuthModule],
  controllers: [SetupController],
  providers: [SetupTokenService],
  exports: [SetupTokenService],
})
export class SetupModule {}
