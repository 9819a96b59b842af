import { Module, UnsupportedMediaTypeException } from '@nestjs/common';
import { MulterModule } from '@nestjs/platform-express';
import { extname } from 'node:path';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { PatientsModule } from '../patients/patients.module';
import { PortalAccessModule } from '../portal-access/portal-access.module';
import { ImportRunsRepository } from './import-runs.repository';
import { ImportService } from './import.service';
import { ImportUploadFilter } from './import-upload.filter';
import { ImportsController } from './imports.controller';
import { ACCEPTED_EXTENSIONS, unsupportedMessage } from './parsers/import-file';
import { uploadDir } from './upload-dir';

@Module({
  imports: [
    PatientsModule,
    PortalAccessModule,
    MulterModule.registerAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        dest: uploadDir(config),
        limits: { fileSize: config.importMaxBytes, files: 1, fields: 4, fieldSize: 1024 },
        fileFilter: (_req: unknown, file: { originalname: string }, accept: (error: Error | null, ok: boolean) => void) =>
          ACCEPTED_EXTENSIONS.includes(extname(file.originalname).toLowerCase())
            ? accept(null, true)
            : accept(new UnsupportedMediaTypeException(unsupportedMessage(file.originalname)), false),
      }),
    }),
  ],
  controllers: [ImportsController],
  providers: [ImportService, ImportRunsRepository, ImportUploadFilter],
  exports: [ImportService],
})
export class ImportsModule {}
