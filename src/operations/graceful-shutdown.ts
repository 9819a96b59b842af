import type { INestApplication, LoggerService } from '@nestjs/common';
import type { Server } from 'node:http';

/**
 * SIGTERM/SIGINT in this order: stop accepting requests and let those in flight finish;
 * then app.close(), whose hooks stop the mail sender and schedulers first (emails in flight
 * finish, bounded) and close the SMTP pool, the session store and the database last.
 * Everything is bounded by `timeoutMs`; a second signal is ignored. Exits 0 when clean.
 */
export function closeGracefullyOnSignals(
  app: INestApplication,
  logger: LoggerService,
  timeoutMs: number,
  beforeExit: () => void = () => undefined,
): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    logger.log(`${signal} received: finishing requests and emails in flight, then stopping`, 'Shutdown');
    const started = Date.now();
    const hardStop = setTimeout(() => {
      logger.error(`Still not stopped ${2 * timeoutMs} ms after ${signal}; exiting`, undefined, 'Shutdown');
      beforeExit();
      process.exit(1);
    }, 2 * timeoutMs);
    hardStop.unref();
    stopAcceptingRequests(app.getHttpServer() as Server, timeoutMs)
      .then(() => app.close())
      .then(
        () => {
          logger.log(`Stopped in ${Date.now() - started} ms`, 'Shutdown');
          beforeExit();
          process.exit(0);
        },
        (error: unknown) => {
          logger.error(`Shutdown failed: ${(error as Error)?.message ?? String(error)}`, undefined, 'Shutdown');
          beforeExit();
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** Closes the listening socket; idle keep-alive connections go now, busy ones when their response is done (or at the deadline). */
function stopAcceptingRequests(server: Server, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    // A keep-alive connection turns idle once its response is sent: close it then.
    const idle = setInterval(() => server.closeIdleConnections(), 50);
    const deadline = setTimeout(() => server.closeAllConnections(), timeoutMs);
    server.close(() => {
      clearInterval(idle);
      clearTimeout(deadline);
      resolve();
    });
    server.closeIdleConnections();
  });
}
