import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { fromSqlDateTime, toSqlDateTime } from '../database/sql';
import type { ImportMode } from './import-job';
import type { ImportFormat } from './parsers/import-file';

/** A run as stored: the JSON columns still as text (ImportService reads them into an ImportRun). */
export interface ImportRunRow {
  id: string;
  fileName: string;
  format: ImportFormat | null;
  mode: ImportMode;
  status: string;
  actorLabel: string | null;
  counts: string | null;
  problems: string | null;
  message: string | null;
  createdAt: Date | null;
  finishedAt: Date | null;
}

export interface NewImportRun {
  id: string;
  fileName: string;
  format: ImportFormat;
  mode: ImportMode;
  staffId: number | null;
  actorLabel: string | null;
  /** The upload's file name in DATA_DIR/imports/ (deleted when the run ends), null for the CLI's own file. */
  uploadFile: string | null;
}

/** import_runs: every query of the imports module's one table. */
@Injectable()
export class ImportRunsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async create(run: NewImportRun, at: Date): Promise<void> {
    const now = toSqlDateTime(at);
    await this.dataSource.query(
      'INSERT INTO import_runs (id, file_name, format, mode, status, created_by_staff_id, actor_label, created_at, heartbeat_at, upload_file) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [run.id, run.fileName, run.format, run.mode, 'running', run.staffId, run.actorLabel, now, now, run.uploadFile],
    );
  }

  /** The running run is still alive (another process tells a dead one by its old mark). */
  async heartbeat(id: string, at: Date): Promise<void> {
    await this.dataSource.query("UPDATE import_runs SET heartbeat_at = ? WHERE id = ? AND status = 'running'", [
      toSqlDateTime(at),
      id,
    ]);
  }

  /** Runs still "running" whose last mark is older than `before` (their process died). */
  async staleRunning(before: Date): Promise<Array<{ id: string; uploadFile: string | null }>> {
    const rows: Array<{ id: string; upload_file: string | null }> = await this.dataSource.query(
      "SELECT id, upload_file FROM import_runs WHERE status = 'running' AND COALESCE(heartbeat_at, created_at) < ?",
      [toSqlDateTime(before)],
    );
    return rows.map((row) => ({ id: row.id, uploadFile: row.upload_file }));
  }

  /** Closes a run that is still running as failed (a run that ended meanwhile keeps its outcome). */
  async failRunning(id: string, message: string, at: Date): Promise<void> {
    await this.dataSource.query(
      "UPDATE import_runs SET status = 'failed', message = ?, finished_at = ? WHERE id = ? AND status = 'running'",
      [message, toSqlDateTime(at), id],
    );
  }

  /** The upload files that running imports still read. */
  async liveUploadFiles(): Promise<string[]> {
    const rows: Array<{ upload_file: string }> = await this.dataSource.query(
      "SELECT upload_file FROM import_runs WHERE status = 'running' AND upload_file IS NOT NULL",
    );
    return rows.map((row) => row.upload_file);
  }

  async finish(
    id: string,
    outcome: { status: string; counts: string; problems: string; message: string | null },
    at: Date,
  ): Promise<void> {
    await this.dataSource.query(
      'UPDATE import_runs SET status = ?, counts = ?, problems = ?, message = ?, finished_at = ? WHERE id = ?',
      [outcome.status, outcome.counts, outcome.problems, outcome.message, toSqlDateTime(at), id],
    );
  }

  async find(id: string): Promise<ImportRunRow | null> {
    const [row] = await this.dataSource.query(
      'SELECT id, file_name, format, mode, status, actor_label, counts, problems, message, created_at, finished_at FROM import_runs WHERE id = ?',
      [id],
    );
    return row ? runRow(row) : null;
  }

  async recent(limit: number): Promise<ImportRunRow[]> {
    const rows = await this.dataSource.query(
      `SELECT id, file_name, format, mode, status, actor_label, NULL AS counts, NULL AS problems, message, created_at, finished_at FROM import_runs ORDER BY created_at DESC, id LIMIT ${Math.max(1, Math.floor(Number(limit)) || 1)}`,
    );
    return rows.map(runRow);
  }
}

function runRow(row: Record<string, string | Date | null>): ImportRunRow {
  return {
    id: row.id as string,
    fileName: row.file_name as string,
    format: row.format as ImportFormat | null,
    mode: row.mode as ImportMode,
    status: row.status as string,
    actorLabel: row.actor_label as string | null,
    counts: row.counts as string | null,
    problems: row.problems as string | null,
    message: row.message as string | null,
    createdAt: fromSqlDateTime(row.created_at),
    finishedAt: fromSqlDateTime(row.finished_at),
  };
}
