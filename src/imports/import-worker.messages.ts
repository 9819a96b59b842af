import type { ImportOutcome, ImportProgress } from './import-pipeline';

/** What an import's worker thread tells the server. */
export type FromWorker =
  | { type: 'progress'; progress: ImportProgress }
  | { type: 'done'; outcome: ImportOutcome }
  /** SQLite: asks for the app connection's turn before its write transaction. */
  | { type: 'turn' }
  | { type: 'turn-released' }
  | { type: 'crashed'; error: string };

export type ToWorker = { type: 'turn-granted' };
