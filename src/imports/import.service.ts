import { Injectable, Logger, NotFoundException, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { readdir, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { DataSource } from 'typeorm';
import type { AuditContext } from '../audit/audit-context';
import { AuditService } from '../audit/audit.service';
import type { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { emptyCounts, type ImportCounts } from './import-check';
import { importJob, modeOf, type ImportJob, type ImportMode, type ImportOptions, type ImportUpload } from './import-job';
import {
  failedOutcome,
  FAILED_ON_OUR_SIDE,
  recordImportFailure,
  type ImportOutcome,
  type ImportProgress,
  type ImportStatus,
} from './import-pipeline';
import { ImportRunsRepository, type ImportRunRow } from './import-runs.repository';
import { ImportWorkerPool } from './import-worker-pool';
import type { ImportProblem } from './import-records';
import { ImportFileError } from './parsers/import-file-error';
import { detectFormat, type ImportFormat } from './parsers/import-file';
import { uploadDir } from './upload-dir';
import { message } from '../i18n/messages';

export type { ImportOptions } from './import-job';
export type { ImportStatus } from './import-pipeline';
export { rowCapMessage } from './import-pipeline';

export interface ImportRun {
  id: string;
  fileName: string;
  format: ImportFormat | null;
  mode: ImportMode;
  status: ImportStatus;
  actorLabel: string | null;
  counts: ImportCounts;
  problems: ImportProblem[];
  problemsOmitted: number;
  /** Imported rows with a caveat (a practitioner reference that resolves to nothing). */
  warnings: ImportProblem[];
  ignoredColumns: string[];
  message: string | null;
  createdAt: Date | null;
  finishedAt: Date | null;
  /** While running on this instance: what it is doing and how many rows it has read. */
  progress: ImportProgress | null;
}

/** The run row keeps this many bad rows for the result page (the CLI prints every one). */
const PROBLEMS_STORED = 5000;
/** A running import marks its run this often, so another process can tell it is still alive. */
const HEARTBEAT_MS = 15_000;
/**
 * A run whose heartbeat is older than this was left by a process that died: it is closed
 * as failed at startup and its upload (patient data) deleted. Generous, because on SQLite
 * a heartbeat waits for the import's own transaction.
 */
export const STALE_RUN_MS = 5 * 60_000;
const SWEEP_MS = 60_000;
export const INTERRUPTED_MESSAGE = message('staff:imports.runMessage.interrupted');
export const TOO_LARGE_MESSAGE = message('staff:imports.runMessage.tooLarge');

/**
 * Owns the import runs: records a run, runs its pipeline (import-pipeline.ts) in a worker
 * thread with its own heap cap and database connection, stores the outcome, deletes the
 * upload, and closes runs whose process died.
 */
@Injectable()
export class ImportService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ImportService.name);
  private readonly live = new Map<string, ImportProgress>();
  private readonly running = new Set<Promise<ImportRun>>();
  private sweeper: NodeJS.Timeout | null = null;
  private readonly workers: ImportWorkerPool;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly runs: ImportRunsRepository,
    private readonly audit: AuditService,
    @InjectConfig() private readonly config: AppConfig,
  ) {
    this.workers = new ImportWorkerPool(config);
  }

  /**
   * Runs left "running" by a process that died are closed as failed and their uploads
   * deleted: at startup, and then every minute (a process restarted at once finds the
   * crashed run's heartbeat still fresh; the next sweeps close it).
   */
  async onApplicationBootstrap(): Promise<void> {
    const sweep = () =>
      this.closeInterruptedRuns().catch((error: unknown) =>
        this.logger.error(`Closing interrupted imports failed: ${String(error)}`),
      );
    await sweep();
    this.sweeper = setInterval(() => void sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  async closeInterruptedRuns(now = new Date()): Promise<number> {
    const stale = await this.runs.staleRunning(new Date(now.getTime() - STALE_RUN_MS));
    const dir = uploadDir(this.config);
    for (const run of stale) {
      await this.runs.failRunning(run.id, INTERRUPTED_MESSAGE, now);
      if (run.uploadFile) await rm(join(dir, basename(run.uploadFile)), { force: true });
      this.logger.warn(`Import ${run.id} was interrupted; marked failed and its upload deleted.`);
    }
    // Uploads no live run refers to (a crash between the upload and the run's first row) go too.
    const kept = new Set((await this.runs.liveUploadFiles()).map((file) => basename(file)));
    for (const name of await readdir(dir)) {
      if (kept.has(name)) continue;
      const info = await stat(join(dir, name)).catch(() => null);
      if (info?.isFile() && info.mtimeMs < now.getTime() - STALE_RUN_MS) await rm(join(dir, name), { force: true });
    }
    return stale.length;
  }

  /**
   * The page's upload: checks it (a clear ImportFileError for an empty file or one that is
   * not CSV/FHIR JSON), records the run and imports in the background. The upload (patient
   * data) is deleted when the run ends, and at once when it is refused.
   */
  async start(upload: ImportUpload, options: ImportOptions, context: AuditContext): Promise<ImportJob> {
    let job: ImportJob;
    try {
      if (upload.size === 0) throw new ImportFileError(message('staff:imports.fileProblem.empty', { file: upload.originalName }));
      job = await this.begin(upload.path, upload.originalName, options, context, true);
    } catch (error) {
      await rm(upload.path, { force: true });
      throw error;
    }
    void this.execute(job)
      .catch((error: unknown) => this.logger.error(`Import ${job.runId}: ${String(error)}`))
      .finally(() => rm(upload.path, { force: true }));
    return job;
  }

  /** begin + execute, waiting for the end (the CLI, on its own file: never deleted). */
  async importFile(path: string, fileName: string, options: ImportOptions, context: AuditContext): Promise<ImportRun> {
    return this.execute(await this.begin(path, fileName, options, context, false));
  }

  /** Checks the file's type and records the run; throws ImportFileError for a file that is not CSV/FHIR JSON. */
  private async begin(
    path: string,
    fileName: string,
    options: ImportOptions,
    context: AuditContext,
    uploaded: boolean,
  ): Promise<ImportJob> {
    const safeName = fileName.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 255) || 'upload';
    const format = await detectFormat(path, safeName);
    const job = importJob({ runId: randomUUID(), path, fileName: safeName, format, options, context, uploaded });
    await this.runs.create(
      {
        id: job.runId,
        fileName: safeName,
        format,
        mode: modeOf(options),
        staffId: context.actorId,
        actorLabel: context.actorLabel,
        uploadFile: uploaded ? basename(path) : null,
      },
      new Date(),
    );
    this.live.set(job.runId, { phase: 'checking', rows: 0 });
    return job;
  }

  /** Runs a begun import to its end in its worker; never throws (a failure is recorded on the run and audited). */
  private execute(job: ImportJob): Promise<ImportRun> {
    let beating = false;
    const heartbeat = setInterval(() => {
      if (beating) return;
      beating = true;
      this.runs
        .heartbeat(job.runId, new Date())
        .catch(() => undefined)
        .finally(() => (beating = false));
    }, HEARTBEAT_MS);
    heartbeat.unref();
    const running = this.inWorker(job)
      .then((outcome) => this.finish(job.runId, outcome))
      .finally(() => this.live.delete(job.runId));
    this.running.add(running);
    return running.finally(() => {
      clearInterval(heartbeat);
      this.running.delete(running);
    });
  }

  /** A shutdown waits for imports in progress (each is one transaction; killing it mid-way only rolls it back). */
  async onApplicationShutdown(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    await Promise.allSettled([...this.running]);
    await this.workers.close();
  }

  /**
   * The pipeline in a thread capped at IMPORT_WORKER_HEAP_MB: a file that needs more ends
   * the thread (ERR_WORKER_OUT_OF_MEMORY), and the run fails with TOO_LARGE_MESSAGE while
   * the server goes on. On SQLite the thread's write transaction takes this connection's
   * turn (an empty transaction held here until it commits): the app's own queries then wait
   * for it, as when imports ran in the server's thread, instead of meeting a locked database.
   */
  private async inWorker(job: ImportJob): Promise<ImportOutcome> {
    const progress = this.live.get(job.runId) ?? { phase: 'checking' as const, rows: 0 };
    this.live.set(job.runId, progress);
    const ended = await this.workers.run(job, progress, (grant, released) => {
      void this.dataSource.transaction(async () => {
        grant();
        await released;
      });
    });
    if ('status' in ended) return ended;
    if (ended.outOfMemory)
      this.logger.warn(
        `Import ${job.runId} needed more than its ${this.config.importWorkerHeapMb} MB (IMPORT_WORKER_HEAP_MB); marked failed.`,
      );
    else this.logger.error(`Import ${job.runId}: ${ended.detail}`);
    const message = ended.outOfMemory ? TOO_LARGE_MESSAGE : FAILED_ON_OUR_SIDE;
    await recordImportFailure(this.audit, job, message);
    return failedOutcome(message);
  }

  async run(runId: string): Promise<ImportRun> {
    const row = await this.runs.find(runId);
    if (!row) throw new NotFoundException(message('staff:imports.form.noSuchRun'));
    const stored = row.problems
      ? (JSON.parse(row.problems) as {
          problems: ImportProblem[];
          omitted: number;
          ignoredColumns: string[];
          warnings?: ImportProblem[];
        })
      : { problems: [], omitted: 0, ignoredColumns: [] };
    return {
      id: row.id,
      fileName: row.fileName,
      format: row.format,
      mode: row.mode,
      status: row.status as ImportStatus,
      actorLabel: row.actorLabel,
      counts: row.counts ? { ...emptyCounts(), ...JSON.parse(row.counts) } : emptyCounts(),
      problems: stored.problems,
      problemsOmitted: stored.omitted,
      warnings: stored.warnings ?? [],
      ignoredColumns: stored.ignoredColumns,
      message: row.message,
      createdAt: row.createdAt,
      finishedAt: row.finishedAt,
      progress: this.live.get(runId) ?? null,
    };
  }

  async recentRuns(limit = 10): Promise<Array<Pick<ImportRun, 'id' | 'fileName' | 'status' | 'actorLabel' | 'createdAt'>>> {
    return (await this.runs.recent(limit)).map((row: ImportRunRow) => ({
      id: row.id,
      fileName: row.fileName,
      status: row.status as ImportStatus,
      actorLabel: row.actorLabel,
      createdAt: row.createdAt,
    }));
  }

  private async finish(runId: string, outcome: ImportOutcome): Promise<ImportRun> {
    const { problems, problemsOmitted: omitted, warnings } = outcome;
    const stored = {
      problems: problems.slice(0, PROBLEMS_STORED),
      omitted: omitted + Math.max(0, problems.length - PROBLEMS_STORED),
      ignoredColumns: outcome.ignoredColumns,
      warnings: warnings.slice(0, PROBLEMS_STORED),
    };
    await this.runs.finish(
      runId,
      {
        status: outcome.status,
        counts: JSON.stringify(outcome.counts),
        problems: JSON.stringify(stored),
        message: outcome.message,
      },
      new Date(),
    );
    const run = await this.run(runId);
    // The caller (CLI) gets every problem, not only the stored ones.
    return { ...run, problems, problemsOmitted: omitted, warnings };
  }
}
