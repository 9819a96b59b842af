import { AsyncLocalStorage } from 'node:async_hooks';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/**
 * Per-phase timing of one request, answered as a `Server-Timing` header (SERVER_TIMING=1;
 * off by default: it tells a client how long our reads took). The bench reads it to split a
 * page into session load, staff user, guard, queries, audit write and render.
 * Laps follow each other (session → user → guard → handler); spans may overlap (queries
 * and the audit write run on parallel connections).
 */
class RequestPhases {
  private readonly started = performance.now();
  private lastLap = this.started;
  readonly entries: [string, number][] = [];

  lap(name: string): void {
    const now = performance.now();
    this.entries.push([name, now - this.lastLap]);
    this.lastLap = now;
  }

  header(): string {
    const all: [string, number][] = [...this.entries, ['total', performance.now() - this.started]];
    return all.map(([name, ms]) => `${name};dur=${ms.toFixed(2)}`).join(', ');
  }
}

const current = new AsyncLocalStorage<RequestPhases>();

/** Starts the request's clock (first middleware) and writes the header just before the response's headers go out. */
export function requestTiming(): RequestHandler {
  return (_req: Request, res: Response, next: NextFunction) => {
    const phases = new RequestPhases();
    const writeHead = res.writeHead;
    res.writeHead = function (this: Response, ...args: unknown[]) {
      if (!this.headersSent) this.setHeader('Server-Timing', phases.header());
      return (writeHead as (...a: unknown[]) => Response).apply(this, args);
    } as typeof res.writeHead;
    current.run(phases, next);
  };
}

/** The time since the previous lap, under `name` (nothing when timing is off). */
export function lap(name: string): void {
  current.getStore()?.lap(name);
}

/** Wraps a middleware so the time until it calls next() is one lap. */
export function timedMiddleware(name: string, middleware: RequestHandler): RequestHandler {
  return (req, res, next) =>
    middleware(req, res, (error?: unknown) => {
      lap(name);
      next(error);
    });
}

/** `work`'s duration under `name`; overlapping spans each report their own. */
export async function span<T>(name: string, work: () => Promise<T>): Promise<T> {
  const phases = current.getStore();
  if (!phases) return work();
  const start = performance.now();
  try {
    return await work();
  } finally {
    phases.entries.push([name, performance.now() - start]);
  }
}
