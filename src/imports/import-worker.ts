import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { parentPort, workerData } from 'node:worker_threads';
import type { AppConfig } from '../config/app-config';
import { APP_SCHEMA } from '../app.schema';
import { openDatabase } from '../database/open-database';
import { isSqliteManager } from '../database/sql';
import type { ImportJob } from './import-job';
import { ImportPipeline, type ImportProgress, type WriteTurn } from './import-pipeline';
import { ImportWorkerModule } from './import-worker.module';
import type { FromWorker, ToWorker } from './import-worker.messages';

/**
 * The thread imports run in (see ImportWorkerPool), with its own heap cap
 * (IMPORT_WORKER_HEAP_MB) and its own database connection: a file that needs more memory
 * than the cap ends this thread, not the server. It runs one job at a time.
 */
const { config } = workerData as { config: AppConfig };
const port = parentPort!;
const post = (message: FromWorker) => port.postMessage(message);
const PROGRESS_MS = 250;

/** SQLite: the apply transaction waits for, and holds, the app connection's turn (see ImportService). */
const takeAppTurn =
  (runId: string): WriteTurn =>
  () =>
    new Promise((resolve) => {
      const granted = (message: ToWorker) => {
        if (message.type !== 'turn-granted') return;
        port.off('message', granted);
        resolve(() => post({ type: 'turn-released', runId }));
      };
      port.on('message', granted);
      post({ type: 'turn', runId });
    });

void (async () => {
  // The sender and the demo seeder are the server's; this thread only imports.
  const dataSource = await openDatabase({ ...config, mailSenderEnabled: false, seedDemo: false }, APP_SCHEMA);
  const app = await NestFactory.createApplicationContext(ImportWorkerModule.forRoot(config, dataSource), {
    logger: ['error', 'warn'],
  });
  const pipeline = app.get(ImportPipeline);
  const sqlite = isSqliteManager(dataSource);
  const run = async (job: ImportJob) => {
    const progress: ImportProgress = { phase: 'checking', rows: 0 };
    const ticker = setInterval(() => post({ type: 'progress', runId: job.runId, progress }), PROGRESS_MS);
    try {
      const outcome = await pipeline.run(job, progress, sqlite ? takeAppTurn(job.runId) : undefined);
      post({ type: 'done', runId: job.runId, outcome });
    } finally {
      clearInterval(ticker);
    }
  };
  port.on('message', (message: ToWorker) => {
    if (message.type === 'job') void run(message.job);
  });
})().catch((error: unknown) => {
  // Not a failed import (the pipeline reports those) but a thread that could not start.
  post({ type: 'crashed', error: (error as Error)?.stack ?? String(error) });
  process.exit(1);
});
