import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import type { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { EmailChangeService } from '../portal-access/email-change/email-change.service';
import { PatientImportRepository } from '../patients/patient-import.repository';
import { PatientsService } from '../patients/patients.service';
import { PortalAccessService } from '../portal-access/portal-access.service';
import { PortalAccountsRepository } from '../portal-access/portal-accounts.repository';
import { ImportApplier } from './import-apply';
import { emptyCounts, ImportCheck, onFile, type ImportCounts } from './import-check';
import { modeOf, type ImportJob, type ImportOptions } from './import-job';
import type { AppointmentRecord, ImportProblem, PatientRecord } from './import-records';
import { ImportFileError } from './parsers/import-file-error';
import { readRecords } from './parsers/import-file';
import { runInTransaction } from '../database/transactions';
import { message, translateMessage } from '../i18n/messages';
import { SOURCE_LANGUAGE } from '../i18n/translations';

export type ImportStatus = 'running' | 'dry_run' | 'applied' | 'rejected' | 'failed';

/** What a running import is doing and how many rows it has read (shown while the page polls). */
export interface ImportProgress {
  phase: 'checking' | 'applying' | 'comparing';
  rows: number;
}

/** How an import ended: what the run row stores (ImportService.finish). */
export interface ImportOutcome {
  status: Exclude<ImportStatus, 'running'>;
  counts: ImportCounts;
  problems: ImportProblem[];
  problemsOmitted: number;
  warnings: ImportProblem[];
  ignoredColumns: string[];
  message: string | null;
}

/**
 * Waits until the import may write and returns the function that lets others write again.
 * On SQLite the worker's transaction takes the app connection's turn (see ImportService).
 */
export type WriteTurn = () => Promise<() => void>;

const BATCH = 1000;
export const FAILED_ON_OUR_SIDE = message('staff:imports.runMessage.failedOnOurSide');

/**
 * One pipeline for every format: parse (streamed) → check the whole file → compare with
 * the database → apply, all in ONE transaction. A file either applies completely (or with
 * its bad rows skipped, when asked) or not at all; a crash mid-way rolls back, so there is
 * no half-applied file to resume (see the README for why not chunked transactions).
 * Runs inside the import's worker thread (import-worker.ts), on the worker's own connection.
 */
@Injectable()
export class ImportPipeline {
  private readonly logger = new Logger(ImportPipeline.name);

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly audit: AuditService,
    private readonly emails: EmailChangeService,
    private readonly patients: PatientsService,
    private readonly records: PatientImportRepository,
    private readonly accounts: PortalAccountsRepository,
    private readonly access: PortalAccessService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /** Runs a job to its end; never throws (a failure is the outcome, and audited). */
  async run(
    job: ImportJob,
    progress: ImportProgress,
    writeTurn: WriteTurn = async () => () => undefined,
  ): Promise<ImportOutcome> {
    const { fileName, format, options, context, runId } = job;
    let ignoredColumns: string[] = [];
    let check: ImportCheck | null = null;
    try {
      check = new ImportCheck();
      const onFileNow = onFile(this.records, this.dataSource.manager);
      const maxRows = this.config.importMaxRows;
      for await (const item of readRecords(job.path, format, this.readOptions(), (columns) => (ignoredColumns = columns))) {
        check.add(item);
        progress.rows = check.counts.rows;
        // Stop at the cap: what pass 1 keeps grows with the rows, so a bigger file must not be read on.
        if (check.counts.rows > maxRows) throw new ImportFileError(rowCapMessage(maxRows));
        if (check.pendingComparisons >= BATCH) await check.compareWithDatabase(onFileNow);
      }
      await check.resolve(onFileNow);
      const hasProblems = check.counts.rejected > 0;
      // Every row rejected: "import the valid rows" has nothing to import, and must not look like a success.
      const nothingValid = hasProblems && check.counts.rejected >= check.counts.rows;
      const applying = !options.dryRun && !nothingValid && (!hasProblems || options.skipInvalid);
      const status = options.dryRun ? 'dry_run' : applying ? 'applied' : 'rejected';
      const summary = (counts: ImportCounts) => ({
        action: `import.${status}`,
        batchId: runId,
        details: { fileName, format, mode: modeOf(options), counts },
      });
      progress.phase = applying ? 'applying' : 'comparing';
      progress.rows = 0;
      const finished = check;
      if (applying) {
        const release = await writeTurn();
        try {
          await runInTransaction(this.dataSource, async (tx) => {
            const counts = await this.compare(tx, finished, job, true, progress);
            // The import's own audit row commits with its changes (fail closed).
            await this.audit.record(context, summary(counts), tx);
          });
        } finally {
          release();
        }
      } else {
        await this.compare(this.dataSource.manager, finished, job, false, progress);
        await this.audit.record(context, summary(finished.counts));
      }
      const message = resultMessage(options, check.counts, applying, nothingValid);
      return {
        status,
        counts: check.counts,
        problems: check.problems,
        problemsOmitted: check.problemsOmitted,
        warnings: check.warnings,
        ignoredColumns,
        message,
      };
    } catch (error) {
      const known = error instanceof ImportFileError;
      if (!known) this.logger.error(`Import ${runId} failed: ${(error as Error)?.stack ?? String(error)}`);
      const text = known ? (error as ImportFileError).text : FAILED_ON_OUR_SIDE;
      await recordImportFailure(this.audit, job, text);
      return failedOutcome(text, check, ignoredColumns);
    }
  }

  /** Pass 2 (and 3 for FHIR appointments): compare, and write when applying. Patients go first so appointments find them. */
  private async compare(
    db: EntityManager,
    check: ImportCheck,
    job: ImportJob,
    write: boolean,
    progress: ImportProgress,
  ): Promise<ImportCounts> {
    const applier = new ImportApplier(db, check, job, write, {
      audit: this.audit,
      emails: this.emails,
      patients: this.patients,
      records: this.records,
      accounts: this.accounts,
      access: this.access,
    });
    await applier.applyProviders();
    let patients: PatientRecord[] = [];
    let appointments: AppointmentRecord[] = [];
    // CSV rows carry their appointment: both are handled in one read. A FHIR file may list
    // an Appointment before its Patient, so its appointments get a read of their own.
    const inline = job.format === 'csv';
    for await (const item of readRecords(job.path, job.format, this.readOptions())) {
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
      for await (const item of readRecords(job.path, job.format, this.readOptions())) {
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
}

/** The audit row of a failed import (also written by ImportService when the worker itself dies). */
export async function recordImportFailure(audit: AuditService, job: ImportJob, reason: string): Promise<void> {
  await audit
    .record(job.context, {
      action: 'import.failed',
      outcome: 'failure',
      batchId: job.runId,
      // The audit trail keeps the reason in English (the run's message is a key, shown in the staff language).
      details: {
        fileName: job.fileName,
        format: job.format,
        mode: modeOf(job.options),
        reason: translateMessage(SOURCE_LANGUAGE, reason),
      },
    })
    .catch(() => undefined);
}

/** A failed run keeps what the check had found so far. */
export function failedOutcome(message: string, check: ImportCheck | null = null, ignoredColumns: string[] = []): ImportOutcome {
  return {
    status: 'failed',
    counts: check?.counts ?? emptyCounts(),
    problems: check?.problems ?? [],
    problemsOmitted: check?.problemsOmitted ?? 0,
    warnings: check?.warnings ?? [],
    ignoredColumns,
    message,
  };
}

export function rowCapMessage(maxRows: number): string {
  return message('staff:imports.runMessage.tooManyRows', { max: maxRows });
}

/** What the result page says beside its counts: what happened, in words (a message key, staff.json imports.runMessage.*). */
function resultMessage(options: ImportOptions, counts: ImportCounts, applied: boolean, nothingValid: boolean): string | null {
  const rejected = { count: counts.rejected };
  if (options.dryRun) return counts.rejected ? message('staff:imports.runMessage.dryRunRejected', rejected) : null;
  if (nothingValid) return message('staff:imports.runMessage.nothingValid');
  if (!applied) return message('staff:imports.runMessage.notApplied');
  const written =
    counts.patients.new +
    counts.patients.changed +
    counts.providers.new +
    counts.providers.changed +
    counts.appointments.new +
    counts.appointments.changed;
  if (counts.rejected)
    return written
      ? message('staff:imports.runMessage.validImported', rejected)
      : message('staff:imports.runMessage.validUpToDate', rejected);
  return written ? null : message('staff:imports.runMessage.upToDate');
}
