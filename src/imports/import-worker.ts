import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { parentPort, workerData } from 'node:worker_threads';
import type { AppConfig } from '../config/app-config';
import { isSqlite, openDatabase } from '../database/open-database';
import type { ImportJob } from './import-job';
import { ImportPipeline, type ImportProgress, type WriteTurn } from './import-pipeline';
import { ImportWorkerModule } from './import-worker.module';
import type { FromWorker, ToWorker } from './import-worker.messages';

/**
 * The thread one import runs in (started by ImportService.execute), with its own heap cap
 * (IMPORT_WORKER_HEAP_MB) and its own database connection: a file that needs more memory
 * than the cap ends this thread, not the server.
 */
const { config, job } = workerData as { config: AppConfig; job: ImportJob };
const port = parentPort!;
const post = (message: FromWorker) => port.postMessage(message);
const PROGRESS_MS = 250;

/** SQLite: the apply transaction waits for, and holds, the app connection's turn (see ImportService). */
const takeAppTurn: WriteTurn = () =>
  new Promise((resolve) => {
    const granted = (message: ToWorker) => {
      if (message.type !== 'turn-granted') return;
      port.off('message', granted);
      resolve(() => post({ type: 'turn-released' }));
    };
    port.on('message', granted);
    post({ type: 'turn' });
  });

void (async () => {
  // The sender and the demo seeder are the server's; this thread only imports.
  const dataSource = await openDatabase({ ...config, mailSenderEnabled: false, seedDemo: false });
  const app = await NestFactory.createApplicationContext(ImportWorkerModule.forRoot(config, dataSource), { logger: ['error', 'warn'] });
  const progress: ImportProgress = { phase: 'checking', rows: 0 };
  const ticker = setInterval(() => post({ type: 'progress', progress }), PROGRESS_MS);
  try {
    const outcome = await app.get(ImportPipeline).run(job, progress, isSqlite(dataSource) ? takeAppTurn : undefined);
    post({ type: 'done', outcome });
  } finally {
    clearInterval(ticker);
    await app.close();
    if (dataSource.isInitialized) await dataSource.destroy();
  }
})().catch((error: unknown) => {
  // Not a failed import (the pipeline reports those) but a thread that could not run one.
  post({ type: 'crashed', error: (error as Error)?.stack ?? String(error) });
});
