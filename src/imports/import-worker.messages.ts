import type { ImportJob } from './import-job';
import type { ImportOutcome, ImportProgress } from './import-pipeline';

/** What an import's worker thread tells the server. */
export type FromWorker =
  | { type: 'progress'; runId: string; progress: ImportProgress }
  | { type: 'done'; runId: string; outcome: ImportOutcome }
  /** SQLite: asks for the app connection's turn before its write transaction. */
  | { type: 'turn'; runId: string }
  | { type: 'turn-released'; runId: string }
  /** The thread could not start (no database connection, …): it ends. */
  | { type: 'crashed'; error: string };

/** What the server tells a worker: the next job (one at a time), or that its write turn is there. */
export type ToWorker = { type: 'job'; job: ImportJob } | { type: 'turn-granted' };
