import type { AuditContext } from '../audit/audit-context';
import type { ImportFormat } from './parsers/import-file';

export interface ImportOptions {
  /** Check and count only; write nothing. */
  dryRun: boolean;
  /** "Import the valid rows and skip the rest": without it, one bad row stops the whole file. */
  skipInvalid: boolean;
}

export type ImportMode = 'dry_run' | 'apply' | 'apply_valid';

/** A file handed to ImportService.start: what multer stored under DATA_DIR/imports. */
export interface ImportUpload {
  /** Where the file is (deleted when the run ends, whatever the outcome). */
  path: string;
  /** The name the admin's computer gave it (shown on the result page). */
  originalName: string;
  size: number;
}

/**
 * One import, once its run row exists: everything the pipeline needs, in one value that
 * crosses into the import's worker thread as it is (plain data, structured-cloned).
 */
export interface ImportJob {
  readonly runId: string;
  readonly path: string;
  /** Cleaned of control characters (what the run row and the audit trail show). */
  readonly fileName: string;
  readonly format: ImportFormat;
  readonly options: Readonly<ImportOptions>;
  readonly context: Readonly<AuditContext>;
  /** The file is an upload of the page (deleted when the run ends), not the CLI's own file. */
  readonly uploaded: boolean;
}

export function importJob(fields: ImportJob): ImportJob {
  return Object.freeze({
    ...fields,
    options: Object.freeze({ ...fields.options }),
    context: Object.freeze({ ...fields.context }),
  });
}

export function modeOf(options: ImportOptions): ImportMode {
  return options.dryRun ? 'dry_run' : options.skipInvalid ? 'apply_valid' : 'apply';
}
