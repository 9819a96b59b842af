/**
 * Runs `npm run backup`'s code over and over in a thread of its own — truly concurrently with
 * the app's transactions, as the separate backup process is in production (in the app's
 * thread, better-sqlite3's synchronous transactions would never let it in mid-way).
 * Start with: new Worker(this file, { execArgv: ['-r', 'ts-node/register/transpile-only'], workerData: config }).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { AppConfig } from '../../src/config/app-config';
import { backupSqlite } from '../../src/operations/sqlite-backup';

let stopping = false;
parentPort!.on('message', () => (stopping = true));

void (async () => {
  const files: string[] = [];
  for (let i = 0; !stopping; i++) {
    files.push((await backupSqlite(workerData as AppConfig, new Date(Date.now() + i))).file);
    if (i === 0) parentPort!.postMessage('copying');
  }
  parentPort!.postMessage(files);
})();
