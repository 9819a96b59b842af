import { Injectable, Logger, NotFoundException, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { readdir, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { DataSource, EntityManager } from 'typeorm';
import type { AuditContext } from '../audit/audit-context';
import { AuditService } from '../audit/audit.service';
import { fromSqlDateTime, toSqlDateTime } from '../database/sql';
import { EmailChangeService } from '../portal-access/email-change/email-change.service';
import type { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { PatientsService } from '../patients/patients.service';
import { PortalAccessService } from '../portal-access/portal-access.service';
import { ImportApplier } from './import-apply';
import { emptyCounts, ImportCheck, type ImportCounts } from './import-check';
import type { AppointmentRecord, ImportProblem, PatientRecord } from './import-records';
import { ImportFileError } from './parsers/import-file-error';
import { detectFormat, readRecords, type ImportFormat } from './parsers/import-file';
import { uploadDir } from './upload-dir';

export interface ImportOptions {
  /** Check and count only; write nothing. */
  dryRun: boolean;
  /** "Import the valid rows and skip the rest": without it, one bad row stops the whole file. */
  skipInvalid: boolean;
}

export type ImportStatus = 'running' | 'dry_run' | 'applied' | 'rejected' | 'failed';

export interface ImportRun {
  id: string;
  fileName: string;
  format: ImportFormat | null;
  mode: 'dry_run' | 'apply' | 'apply_valid';
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
  progress: { phase: 'checking' | 'applying' | 'comparing'; rows: number } | null;
}

const BATCH = 1000;
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
export const INTERRUPTED_MESSAGE = 'The import was interrupted (the server stopped while it ran) and nothing was changed. Upload the file again.';

/**
 * One pipeline for every format: parse (streamed) → check the whole file → compare with
 * the database → apply, all in ONE transaction. A file either applies completely (or with
 * its bad rows skipped, when asked) or not at all; a crash mid-way rolls back, so there is
 * no half-applied file to resume (see the README for why not chunked transactions).
 */
@Injectable()
export class ImportService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ImportService.name);
  private readonly live = new Map<string, NonNullable<ImportRun['progress']>>();
  private readonly running = new Set<Promise<ImportRun>>();
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly emails: EmailChangeService,
    private readonly patients: PatientsService,
    private readonly access: PortalAccessService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /**
   * Runs left "running" by a process that died are closed as failed and their uploads
   * deleted: at startup, and then every minute (a process restarted at once finds the
   * crashed run's heartbeat still fresh; the next sweeps close it).
   */
  async onApplicationBootstrap(): Promise<void> {
    const sweep = () => this.closeInterruptedRuns().catch((error: unknown) => this.logger.error(`Closing interrupted imports failed: ${String(error)}`));
    await sweep();
    this.sweeper = setInterval(() => void sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  async closeInterruptedRuns(now = new Date()): Promise<number> {
    const staleBefore = toSqlDateTime(new Date(now.getTime() - STALE_RUN_MS));
    const stale: Array<{ id: string; upload_file: string | null }> = await this.dataSource.query(
      "SELECT id, upload_file FROM import_runs WHERE status = 'running' AND COALESCE(heartbeat_at, created_at) < ?",
      [staleBefore],
    );
    const dir = uploadDir(this.config);
    for (const run of stale) {
      await this.dataSource.query("UPDATE import_runs SET status = 'failed', message = ?, finished_at = ? WHERE id = ? AND status = 'running'", [INTERRUPTED_MESSAGE, toSqlDateTime(now), run.id]);
      if (run.upload_file) await rm(join(dir, basename(run.upload_file)), { force: true });
      this.logger.warn(`Import ${run.id} was interrupted; marked failed and its upload deleted.`);
    }
    // Uploads no live run refers to (a crash between the upload and the run's first row) go too.
    const live: Array<{ upload_file: string | null }> = await this.dataSource.query("SELECT upload_file FROM import_runs WHERE status = 'running' AND upload_file IS NOT NULL");
    const kept = new Set(live.map((row) => basename(row.upload_file!)));
    for (const name of await readdir(dir)) {
      if (kept.has(name)) continue;
      const info = await stat(join(dir, name)).catch(() => null);
      if (info?.isFile() && info.mtimeMs < now.getTime() - STALE_RUN_MS) await rm(join(dir, name), { force: true });
    }
    return stale.length;
  }

  /**
   * Checks the file's type and records the run; throws ImportFileError for a file that is not CSV/FHIR JSON.
   * `uploaded`: the file is an upload of the page (deleted if the process dies mid-way), not the CLI's own file.
   */
  async begin(path: string, fileName: string, options: ImportOptions, context: AuditContext, uploaded = false): Promise<{ runId: string; format: ImportFormat }> {
    const safeName = fileName.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 255) || 'upload';
    const format = await detectFormat(path, safeName);
    const runId = randomUUID();
    const now = toSqlDateTime(new Date());
    await this.dataSource.query(
      'INSERT INTO import_runs (id, file_name, format, mode, status, created_by_staff_id, actor_label, created_at, heartbeat_at, upload_file) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [runId, safeName, format, modeOf(options), 'running', context.actorId, context.actorLabel, now, now, uploaded ? basename(path) : null],
    );
    this.live.set(runId, { phase: 'checking', rows: 0 });
    return { runId, format };
  }

  /** Runs a begun import to its end; never throws (a failure is recorded on the run and audited). */
  execute(runId: string, path: string, format: ImportFormat, fileName: string, options: ImportOptions, context: AuditContext): Promise<ImportRun> {
    let beating = false;
    const heartbeat = setInterval(() => {
      if (beating) return;
      beating = true;
      this.dataSource
        .query("UPDATE import_runs SET heartbeat_at = ? WHERE id = ? AND status = 'running'", [toSqlDateTime(new Date()), runId])
        .catch(() => undefined)
        .finally(() => (beating = false));
    }, HEARTBEAT_MS);
    heartbeat.unref();
    const running = this.executeRun(runId, path, format, fileName, options, context);
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
  }

  private async executeRun(runId: string, path: string, format: ImportFormat, fileName: string, options: ImportOptions, context: AuditContext): Promise<ImportRun> {
    const progress = this.live.get(runId) ?? { phase: 'checking' as const, rows: 0 };
    this.live.set(runId, progress);
    let ignoredColumns: string[] = [];
    let check: ImportCheck | null = null;
    try {
      check = new ImportCheck();
      const maxRows = this.config.importMaxRows;
      for await (const item of readRecords(path, format, this.readOptions(), (columns) => (ignoredColumns = columns))) {
        check.add(item);
        progress.rows = check.counts.rows;
        // Stop at the cap: what pass 1 keeps grows with the rows, so a bigger file must not be read on.
        if (check.counts.rows > maxRows) throw new ImportFileError(rowCapMessage(maxRows));
        if (check.pendingComparisons >= BATCH) await check.compareWithDatabase(this.dataSource.manager);
      }
      await check.resolve(this.dataSource.manager);
      const hasProblems = check.counts.rejected > 0;
      // Every row rejected: "import the valid rows" has nothing to import, and must not look like a success.
      const nothingValid = hasProblems && check.counts.rejected >= check.counts.rows;
      const applying = !options.dryRun && !nothingValid && (!hasProblems || options.skipInvalid);
      const status: ImportStatus = options.dryRun ? 'dry_run' : applying ? 'applied' : 'rejected';
      const summary = (counts: ImportCounts) => ({ action: `import.${status}`, batchId: runId, details: { fileName, format, mode: modeOf(options), counts } });
      progress.phase = applying ? 'applying' : 'comparing';
      progress.rows = 0;
      const finished = check;
      if (applying) {
        await this.dataSource.transaction(async (tx) => {
          const counts = await this.compare(tx, finished, path, format, true, runId, context, fileName, progress);
          // The import's own audit row commits with its changes (fail closed).
          await this.audit.record(context, summary(counts), tx);
        });
      } else {
        await this.compare(this.dataSource.manager, finished, path, format, false, runId, context, fileName, progress);
        await this.audit.record(context, summary(finished.counts));
      }
      const message = resultMessage(options, check.counts, applying, nothingValid);
      return await this.finish(runId, status, check.counts, check.problems, check.problemsOmitted, ignoredColumns, message, check.warnings);
    } catch (error) {
      const known = error instanceof ImportFileError;
      if (!known) this.logger.error(`Import ${runId} failed: ${(error as Error)?.stack ?? String(error)}`);
      const message = known ? (error as Error).message : 'The import failed on our side and nothing was changed. The error is in the server log.';
      await this.audit.record(context, { action: 'import.failed', outcome: 'failure', batchId: runId, details: { fileName, format, mode: modeOf(options), reason: message } }).catch(() => undefined);
      return this.finish(runId, 'failed', check?.counts ?? emptyCounts(), check?.problems ?? [], check?.problemsOmitted ?? 0, ignoredColumns, message, check?.warnings ?? []);
    } finally {
      this.live.delete(runId);
    }
  }

  /** begin + execute, waiting for the end (the CLI). */
  async importFile(path: string, fileName: string, options: ImportOptions, context: AuditContext): Promise<ImportRun> {
    const { runId, format } = await this.begin(path, fileName, options, context);
    return this.execute(runId, path, format, fileName, options, context);
  }

  async run(runId: string): Promise<ImportRun> {
    const [row] = await this.dataSource.query('SELECT * FROM import_runs WHERE id = ?', [runId]);
    if (!row) throw new NotFoundException('That import does not exist.');
    const stored = row.problems ? (JSON.parse(row.problems) as { problems: ImportProblem[]; omitted: number; ignoredColumns: string[]; warnings?: ImportProblem[] }) : { problems: [], omitted: 0, ignoredColumns: [] };
    return {
      id: row.id,
      fileName: row.file_name,
      format: row.format,
      mode: row.mode,
      status: row.status,
      actorLabel: row.actor_label,
      counts: row.counts ? { ...emptyCounts(), ...JSON.parse(row.counts) } : emptyCounts(),
      problems: stored.problems,
      problemsOmitted: stored.omitted,
      warnings: stored.warnings ?? [],
      ignoredColumns: stored.ignoredColumns,
      message: row.message,
      createdAt: fromSqlDateTime(row.created_at),
      finishedAt: fromSqlDateTime(row.finished_at),
      progress: this.live.get(runId) ?? null,
    };
  }

  async recentRuns(limit = 10): Promise<Array<Pick<ImportRun, 'id' | 'fileName' | 'status' | 'actorLabel' | 'createdAt'>>> {
    const rows = await this.dataSource.query(`SELECT id, file_name, status, actor_label, created_at FROM import_runs ORDER BY created_at DESC, id LIMIT ${Number(limit)}`);
    return rows.map((row: Record<string, string>) => ({ id: row.id, fileName: row.file_name, status: row.status as ImportStatus, actorLabel: row.actor_label, createdAt: fromSqlDateTime(row.created_at) }));
  }

  /** Pass 2 (and 3 for FHIR appointments): compare, and write when applying. Patients go first so appointments find them. */
  private async compare(db: EntityManager, check: ImportCheck, path: string, format: ImportFormat, write: boolean, runId: string, context: AuditContext, fileName: string, progress: { rows: number }): Promise<ImportCounts> {
    const applier = new ImportApplier(db, check, write, context, runId, { audit: this.audit, emails: this.emails, patients: this.patients, access: this.access }, { import: runId, fileName });
    await applier.applyProviders();
    let patients: PatientRecord[] = [];
    let appointments: AppointmentRecord[] = [];
    // CSV rows carry their appointment: both are handled in one read. A FHIR file may list
    // an Appointment before its Patient, so its appointments get a read of their own.
    const inline = format === 'csv';
    for await (const item of readRecords(path, format, this.readOptions())) {
      if (item.kind === 'ignored' || check.rejected.has(item.source.ordinal)) continue;
      if (item.kind === 'patient') patients.push(item);
      else if (item.kind === 'appointment' && inline) appointments.push(item);
      if (patients.length >= BATCH) {
        await applier.applyPatients(patients);
        progress.rows += patients.length;
        patients = [];
        if (appointments.length) await applier.applyAppointments(appointments);
        appointments = [];
      }
    }
    if (patients.length) await applier.applyPatients(patients);
    progress.rows += patients.length;
    if (appointments.length) await applier.applyAppointments(appointments);
    if (!inline && check.appointmentsSeen > 0) {
      appointments = [];
      for await (const item of readRecords(path, format, this.readOptions())) {
        if (item.kind !== 'appointment' || check.rejected.has(item.source.ordinal)) continue;
        appointments.push(item);
        if (appointments.length >= BATCH) {
          await applier.applyAppointments(appointments);
          appointments = [];
        }
      }
      if (appointments.length) await applier.applyAppointments(appointments);
    }
    return applier.counts;
  }

  private readOptions() {
    return { mrnSystem: this.config.importMrnSystem };
  }

  private async finish(runId: string, status: ImportStatus, counts: ImportCounts, problems: ImportProblem[], omitted: number, ignoredColumns: string[], message: string | null, warnings: ImportProblem[]): Promise<ImportRun> {
    const stored = { problems: problems.slice(0, PROBLEMS_STORED), omitted: omitted + Math.max(0, problems.length - PROBLEMS_STORED), ignoredColumns, warnings: warnings.slice(0, PROBLEMS_STORED) };
    await this.dataSource.query('UPDATE import_runs SET status = ?, counts = ?, problems = ?, message = ?, finished_at = ? WHERE id = ?', [
      status,
      JSON.stringify(counts),
      JSON.stringify(stored),
      message,
      toSqlDateTime(new Date()),
      runId,
    ]);
    const run = await this.run(runId);
    // The caller (CLI) gets every problem, not only the stored ones.
    return { ...run, problems, problemsOmitted: omitted, warnings };
  }
}

export function rowCapMessage(maxRows: number): string {
  return `The file has more than ${maxRows.toLocaleString('en-US')} rows (CSV lines or FHIR resources), the most one import takes (IMPORT_MAX_ROWS). Split it into files of at most ${maxRows.toLocaleString('en-US')} rows. Nothing was imported.`;
}

/** What the result page says beside its counts: what happened, in words. */
function resultMessage(options: ImportOptions, counts: ImportCounts, applied: boolean, nothingValid: boolean): string | null {
  const rejected = `${counts.rejected} ${counts.rejected === 1 ? 'row was' : 'rows were'} rejected`;
  if (options.dryRun) return counts.rejected ? `Dry run: ${rejected} (listed below); nothing was written.` : null;
  if (nothingValid) return `Nothing was imported: every row of the file was rejected (listed below). Fix them and import the file again.`;
  if (!applied) return 'Nothing was imported: fix the rejected rows listed, or tick "import the valid rows and skip the rest".';
  const written = counts.patients.new + counts.patients.changed + counts.providers.new + counts.providers.changed + counts.appointments.new + counts.appointments.changed;
  if (counts.rejected) return written ? `The valid rows were imported; ${rejected} and skipped (listed below).` : `Nothing changed: the valid rows were already up to date; ${rejected} and skipped (listed below).`;
  return written ? null : 'Nothing changed: every row was already up to date.';
}

function modeOf(options: ImportOptions): ImportRun['mode'] {
  return options.dryRun ? 'dry_run' : options.skipInvalid ? 'apply_valid' : 'apply';
}
