import {
  BadRequestException,
  Body,
  Controller,
  Get,
  Param,
  ParseUUIDPipe,
  Post,
  Req,
  Res,
  UnsupportedMediaTypeException,
  UploadedFile,
  UseFilters,
  UseInterceptors,
} from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import type { Request, Response } from 'express';
import { Audit, type AuditContext } from '../audit/audit-context';
import { Roles } from '../auth/decorators/roles.decorator';
import type { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { View } from '../common/views/view.decorator';
import { isHtmxRequest } from '../common/views/htmx';
import { ImportFormDto } from './dto/import-form.dto';
import type { ImportJob, ImportOptions } from './import-job';
import { ImportService } from './import.service';
import { formatBytes, ImportUploadFilter } from './import-upload.filter';
import { FORMAT_LABELS } from './parsers/import-file';
import { ImportFileError } from './parsers/import-file-error';
import { message } from '../i18n/messages';

/** What multer hands over for the uploaded file (stored under DATA_DIR/imports). */
interface UploadedImportFile {
  originalname: string;
  path: string;
  size: number;
}

const runId = new ParseUUIDPipe({ exceptionFactory: () => new BadRequestException(message('staff:imports.form.runId')) });

/** Audit rows of an import name "import" as the actor, with the admin who started it. */
const importContext = (audit: AuditContext): AuditContext => ({ ...audit, actorType: 'import' });

/** Admin page: upload a CSV or FHIR file, watch it being checked and applied, read the result. */
@Controller('admin/import')
@Roles('admin')
export class ImportsController {
  constructor(
    private readonly imports: ImportService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  @Get()
  @View('imports/index')
  async page() {
    return {
      maxSize: formatBytes(this.config.importMaxBytes),
      recent: await this.imports.recentRuns(),
    };
  }

  /** Checks the type at once (a clear refusal), then imports in the background; htmx polls the run. */
  @Post()
  @UseFilters(ImportUploadFilter)
  @UseInterceptors(FileInterceptor('file'))
  @View('imports/run', { fragment: 'imports/_run' })
  async upload(
    @UploadedFile() file: UploadedImportFile | undefined,
    @Body() form: ImportFormDto,
    @Audit() audit: AuditContext,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    if (!file) throw new BadRequestException(message('staff:imports.form.noFile'));
    const options: ImportOptions = { dryRun: form.dryRun === 'yes', skipInvalid: form.skipInvalid === 'yes' };
    let started: ImportJob;
    try {
      started = await this.imports.start(
        { path: file.path, originalName: file.originalname, size: file.size },
        options,
        importContext(audit),
      );
    } catch (error) {
      if (error instanceof ImportFileError) throw new UnsupportedMediaTypeException(error.text);
      throw error;
    }
    if (!isHtmxRequest(req)) {
      res.redirect(303, `/admin/import/runs/${started.runId}`);
      return undefined;
    }
    return this.model(await this.imports.run(started.runId));
  }

  @Get('runs/:id')
  @View('imports/run', { fragment: 'imports/_run' })
  async result(@Param('id', runId) id: string, @Res({ passthrough: true }) res: Response) {
    const run = await this.imports.run(id);
    // The poll ends by loading the full result page (with its table of bad rows).
    if (run.status !== 'running' && isPoll(res)) res.setHeader('HX-Redirect', `/admin/import/runs/${id}`);
    return this.model(run);
  }

  private model(run: Awaited<ReturnType<ImportService['run']>>) {
    return {
      run,
      formatLabel: run.format ? FORMAT_LABELS[run.format] : null,
      ignored: Object.entries(run.counts.ignored),
    };
  }
}

function isPoll(res: Response): boolean {
  return res.req.get('X-Background-Poll') === '1';
}
