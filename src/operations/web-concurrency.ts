import cluster, { type Worker } from 'node:cluster';

/** Set by the primary in each worker's environment: 1..WEB_CONCURRENCY. */
export const WORKER_INDEX_ENV = 'WEB_WORKER_INDEX';

/** This process is one of several workers and not the first: it leaves once-per-server duties (setup link, server file) to worker 1. */
export function isSecondaryWorker(): boolean {
  return cluster.isWorker && process.env[WORKER_INDEX_ENV] !== '1';
}

/**
 * WEB_CONCURRENCY > 1: this (primary) process serves nothing itself; it starts that many
 * workers of the same entry file, which share the port (node:cluster hands connections out
 * round-robin). Safe because an instance keeps nothing in memory that another needs: sessions,
 * throttles, counts' generations and the outbox all live in the database, as with several
 * instances behind a proxy. Worker 1 starts alone first, so the migrations run once; a worker
 * that dies is replaced; SIGTERM/SIGINT are passed on and the primary exits when all have stopped.
 */
export function runWorkers(count: number, log: (message: string) => void): void {
  let stopping = false;
  let ready = 0;
  const fork = (index: number): Worker => {
    const worker = cluster.fork({ [WORKER_INDEX_ENV]: String(index) });
    worker.on('message', (message: unknown) => {
      if (message !== 'ready') return;
      ready++;
      if (index === 1) for (let i = 2; i <= count; i++) fork(i);
      // A parent process (tests, process managers) may wait for this, as with one process.
      if (ready === count) {
        log(`${count} workers serving (WEB_CONCURRENCY=${count})`);
        process.send?.('ready');
      }
    });
    worker.on('exit', (code, signal) => {
      if (stopping) {
        if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
        return;
      }
      log(`worker ${index} (pid ${worker.process.pid}) exited (${signal ?? code}); starting another`);
      ready = Math.max(0, ready - 1);
      // A worker that fails during start-up (bad config, database down) would fail again: stop instead of looping.
      if (ready === 0 && index === 1) process.exit(1);
      fork(index);
    });
    return worker;
  };
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    const workers = Object.values(cluster.workers ?? {});
    if (workers.length === 0) process.exit(0);
    for (const worker of workers) worker?.process.kill(signal);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  fork(1);
}
