import { Injectable, Logger, NotFoundException, type OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import type { AuditContext } from '../audit/audit-context';
import { AuditService } from '../audit/audit.service';
import { fromSqlDateTime, toSqlDateTime } from '../database/sql';
import { PatientEmailService } from '../patients/patient-email.service';
import { PatientsService } from '../patients/patients.service';
import { ImportApplier } from './import-apply';
import { emptyCounts, ImportCheck, type ImportCounts } from './import-check';
import type { AppointmentRecord, ImportProblem, PatientRecord } from './import-records';
import { ImportFileError } from './parsers/import-file-error';
import { detectFormat, readRecords, type ImportFormat } from './parsers/import-file';
import { runInTransaction } from '../database/transactions';

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

/**
 * One pipeline for every format: parse (streamed) → check the whole file → compare with
 * the database → apply, all in ONE transaction. A file either applies completely (or with
 * its bad rows skipped, when asked) or not at all; a crash mid-way rolls back, so there is
 * no half-applied file to resume (see the README for why not chunked transactions).
 */
@Injectable()
export class ImportService implements OnApplicationShutdown {
  private readonly logger = new Logger(ImportService.name);
  private readonly live = new Map<string, NonNullable<ImportRun['progress']>>();
  private readonly running = new Set<Promise<ImportRun>>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly emails: PatientEmailService,
    private readonly patients: PatientsService,
  ) {}

  /** Checks the file's type and records the run; throws ImportFileError for a file that is not CSV/FHIR JSON. */
  async begin(path: string, fileName: string, options: ImportOptions, context: AuditContext): Promise<{ runId: string; format: ImportFormat }> {
    const safeName = fileName.replace(/[\u0000-\u001f\u007f]/g, '').slice(0, 255) || 'upload';
    const format = await detectFormat(path, safeName);
    const runId = randomUUID();
    await this.dataSource.query(
      'INSERT INTO import_runs (id, file_name, format, mode, status, created_by_staff_id, actor_label, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      [runId, safeName, format, modeOf(options), 'running', context.actorId, context.actorLabel, toSqlDateTime(new Date())],
    );
    this.live.set(runId, { phase: 'checking', rows: 0 });
    return { runId, format };
  }

  /** Runs a begun import to its end; never throws (a failure is recorded on the run and audited). */
  execute(runId: string, path: string, format: ImportFormat, fileName: string, options: ImportOptions, context: AuditContext): Promise<ImportRun> {
    const running = this.executeRun(runId, path, format, fileName, options, context);
    this.running.add(running);
    return running.finally(() => this.running.delete(running));
  }

  /** A shutdown waits for imports in progress (each is one transaction; killing it mid-way only rolls it back). */
  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }

  private async executeRun(runId: string, path: string, format: ImportFormat, fileName: string, options: ImportOptions, context: AuditContext): Promise<ImportRun> {
    const progress = this.live.get(runId) ?? { phase: 'checking' as const, rows: 0 };
    this.live.set(runId, progress);
    let ignoredColumns: string[] = [];
    let check: ImportCheck | null = null;
    try {
      check = new ImportCheck();
      for await (const item of readRecords(path, format, (columns) => (ignoredColumns = columns))) {
        check.add(item);
        progress.rows = check.counts.rows;
      }
      await check.resolve(this.dataSource.manager);
      const hasProblems = check.counts.rejected > 0;
      const applying = !options.dryRun && (!hasProblems || options.skipInvalid);
      const status: ImportStatus = options.dryRun ? 'dry_run' : applying ? 'applied' : 'rejected';
      const summary = (counts: ImportCounts) => ({ action: `import.${status}`, batchId: runId, details: { fileName, format, mode: modeOf(options), counts } });
      progress.phase = applying ? 'applying' : 'comparing';
      progress.rows = 0;
      const finished = check;
      if (applying) {
        await runInTransaction(this.dataSource, async (tx) => {
          const counts = await this.compare(tx, finished, path, format, true, runId, context, fileName, progress);
          // The import's own audit row commits with its changes (fail closed).
          await this.audit.record(context, summary(counts), tx);
        });
      } else {
        await this.compare(this.dataSource.manager, finished, path, format, false, runId, context, fileName, progress);
        await this.audit.record(context, summary(finished.counts));
      }
      const message = hasProblems && !applying && !options.dryRun ? 'Nothing was imported: fix the rejected rows listed, or tick "import the valid rows and skip the rest".' : null;
      return await this.finish(runId, status, check.counts, check.problems, check.problemsOmitted, ignoredColumns, message);
    } catch (error) {
      const known = error instanceof ImportFileError;
      if (!known) this.logger.error(`Import ${runId} failed: ${(error as Error)?.stack ?? String(error)}`);
      const message = known ? (error as Error).message : 'The import failed on our side and nothing was changed. The error is in the server log.';
      await this.audit.record(context, { action: 'import.failed', outcome: 'failure', batchId: runId, details: { fileName, format, mode: modeOf(options), reason: message } }).catch(() => undefined);
      return this.finish(runId, 'failed', check?.counts ?? emptyCounts(), check?.problems ?? [], check?.problemsOmitted ?? 0, ignoredColumns, message);
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
    const stored = row.problems ? (JSON.parse(row.problems) as { problems: ImportProblem[]; omitted: number; ignoredColumns: string[] }) : { problems: [], omitted: 0, ignoredColumns: [] };
    return {
      id: row.id,
      fileName: row.file_name,
      format: row.format,
      mode: row.mode,
      status: row.status,
      actorLabel: row.actor_label,
      counts: row.counts ? JSON.parse(row.counts) : emptyCounts(),
      problems: stored.problems,
      problemsOmitted: stored.omitted,
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
    const applier = new ImportApplier(db, check, write, context, runId, { audit: this.audit, emails: this.emails, patients: this.patients }, { import: runId, fileName });
    await applier.applyProviders();
    let patients: PatientRecord[] = [];
    let appointments: AppointmentRecord[] = [];
    // CSV rows carry their appointment: both are handled in one read. A FHIR file may list
    // an Appointment before its Patient, so its appointments get a read of their own.
    const inline = format === 'csv';
    for await (const item of readRecords(path, format)) {
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
      for await (const item of readRecords(path, format)) {
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

  private async finish(runId: string, status: ImportStatus, counts: ImportCounts, problems: ImportProblem[], omitted: number, ignoredColumns: string[], message: string | null): Promise<ImportRun> {
    const stored = { problems: problems.slice(0, PROBLEMS_STORED), omitted: omitted + Math.max(0, problems.length - PROBLEMS_STORED), ignoredColumns };
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
    return { ...run, problems, problemsOmitted: omitted };
  }
}

function modeOf(options: ImportOptions): ImportRun['mode'] {
  return options.dryRun ? 'dry_run' : options.skipInvalid ? 'apply_valid' : 'apply';
}
