import { Module } from '@nestjs/common';
import { PortalAccessModule } from '../portal-access/portal-access.module';
import { ExportsController } from './exports.controller';
import { ExportsService } from './exports.service';

@Module({ imports: [PortalAccessModule], controllers: [ExportsController], providers: [ExportsService] })
export class ExportsModule {}
