import { Module, UnsupportedMediaTypeException } from '@nestjs/common';
import { MulterModule } from '@nestjs/platform-express';
import { mkdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { PatientsModule } from '../patients/patients.module';
import { ImportService } from './import.service';
import { ImportUploadFilter } from './import-upload.filter';
import { ImportsController } from './imports.controller';
import { ACCEPTED_EXTENSIONS, unsupportedMessage } from './parsers/import-file';

/** Uploads go to a private folder under DATA_DIR (never a served path) and are deleted after the import. */
export function uploadDir(config: AppConfig): string {
  const dir = join(config.dataDir, 'imports');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

@Module({
  imports: [
    PatientsModule,
    MulterModule.registerAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        dest: uploadDir(config),
        limits: { fileSize: config.importMaxBytes, files: 1, fields: 4, fieldSize: 1024 },
        fileFilter: (_req: unknown, file: { originalname: string }, accept: (error: Error | null, ok: boolean) => void) =>
          ACCEPTED_EXTENSIONS.includes(extname(file.originalname).toLowerCase()) ? accept(null, true) : accept(new UnsupportedMediaTypeException(unsupportedMessage(file.originalname)), false),
      }),
    }),
  ],
  controllers: [ImportsController],
  providers: [ImportService, ImportUploadFilter],
  exports: [ImportService],
})
export class ImportsModule {}
