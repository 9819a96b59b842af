import { ArgumentsHost, Catch, ExceptionFilter, PayloadTooLargeException } from '@nestjs/common';
import type { Request, Response } from 'express';
import { sendError } from '../common/errors/error-response';
import type { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { message } from '../i18n/messages';

/** multer's "File too large" becomes a message that says what the limit is and how to change it. */
@Catch(PayloadTooLargeException)
export class ImportUploadFilter implements ExceptionFilter {
  constructor(@InjectConfig() private readonly config: AppConfig) {}

  catch(_exception: PayloadTooLargeException, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendError(
      http.getRequest<Request>(),
      http.getResponse<Response>(),
      413,
      message('staff:imports.fileProblem.tooLarge', { size: formatBytes(this.config.importMaxBytes) }),
    );
  }
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}
