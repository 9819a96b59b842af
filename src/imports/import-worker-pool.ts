import { Logger } from '@nestjs/common';
import { extname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { AppConfig } from '../config/app-config';
import type { ImportJob } from './import-job';
import type { ImportOutcome, ImportProgress } from './import-pipeline';
import type { FromWorker, ToWorker } from './import-worker.messages';

/** Why a job ended without an outcome: the thread ran out of its heap, or stopped otherwise. */
export type WorkerFailure = { outOfMemory: boolean; detail: string };

/** SQLite: calls `grant` once the worker may write, and holds the turn until `released`. */
export type GrantTurn = (grant: () => void, released: Promise<void>) => void;

/** An idle thread is kept this long for the next import (booting one costs a second or more), then ended. */
const IDLE_MS = 60_000;

/**
 * Import threads, each capped at IMPORT_WORKER_HEAP_MB and running one job at a time. A
 * thread that ran out of memory is gone (the next job gets a fresh one); one that finished
 * waits a minute for the next job, so the server's memory returns to its idle size soon after.
 */
export class ImportWorkerPool {
  private readonly logger = new Logger(ImportWorkerPool.name);
  private readonly idle = new Map<Worker, NodeJS.Timeout>();
  private readonly all = new Set<Worker>();

  constructor(private readonly config: AppConfig) {}

  run(job: ImportJob, progress: ImportProgress, grantTurn: GrantTurn): Promise<ImportOutcome | WorkerFailure> {
    const worker = this.take();
    return new Promise((resolve) => {
      let failure: WorkerFailure | null = null;
      let releaseTurn: (() => void) | null = null;
      const send = (message: ToWorker) => worker.postMessage(message);
      const onMessage = (message: FromWorker) => {
        if (message.type === 'crashed') failure = { outOfMemory: false, detail: message.error };
        else if (message.runId !== job.runId) return;
        else if (message.type === 'progress') Object.assign(progress, message.progress);
        else if (message.type === 'turn') {
          const released = new Promise<void>((done) => (releaseTurn = done));
          grantTurn(() => send({ type: 'turn-granted' }), released);
        } else if (message.type === 'turn-released') releaseTurn?.();
        else if (message.type === 'done') {
          detach();
          this.putBack(worker);
          resolve(message.outcome);
        }
      };
      const onError = (error: Error & { code?: string }) => {
        failure = { outOfMemory: error.code === 'ERR_WORKER_OUT_OF_MEMORY', detail: error.stack ?? String(error) };
      };
      const onExit = (code: number) => {
        detach();
        releaseTurn?.();
        resolve(failure ?? { outOfMemory: false, detail: `the import thread stopped (exit code ${code})` });
      };
      const detach = () => {
        worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      };
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
      send({ type: 'job', job });
    });
  }

  /** Ends the idle threads (a shutdown waits for running jobs first). */
  async close(): Promise<void> {
    await Promise.all([...this.all].map((worker) => worker.terminate()));
  }

  private take(): Worker {
    const [ready] = this.idle;
    if (ready) {
      const [worker, timer] = ready;
      clearTimeout(timer);
      this.idle.delete(worker);
      worker.ref();
      return worker;
    }
    const typescript = extname(__filename) === '.ts';
    const worker = new Worker(join(__dirname, `import-worker${extname(__filename)}`), {
      workerData: { config: this.config },
      resourceLimits: { maxOldGenerationSizeMb: this.config.importWorkerHeapMb },
      // Tests and `npm run import` run the TypeScript sources.
      execArgv: typescript ? ['-r', 'ts-node/register/transpile-only'] : [],
    });
    this.all.add(worker);
    worker.on('exit', () => {
      this.all.delete(worker);
      const timer = this.idle.get(worker);
      if (timer) clearTimeout(timer);
      this.idle.delete(worker);
    });
    // Always listened to (an unheard 'error' would be thrown); the running job's handler says what it means.
    worker.on('error', (error) => this.logger.debug(`Import thread ended: ${String(error)}`));
    return worker;
  }

  private putBack(worker: Worker): void {
    const timer = setTimeout(() => void worker.terminate(), IDLE_MS);
    timer.unref();
    this.idle.set(worker, timer);
    // An idle thread must not keep a CLI process alive.
    worker.unref();
  }
}
