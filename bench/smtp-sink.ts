import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { run, track } from './processes';

/**
 * A loopback SMTP server (the `smtp-server` package) in its own process, so receiving
 * does not share an event loop with the bench's measuring code. STARTTLS with the bench's
 * certificate: the app in production refuses to send over plain smtp://. It only counts.
 */
interface Arrival {
  count: number;
  bytes: number;
  first: number;
  last: number;
}

export interface SmtpSink {
  url: string;
  /** Resolves when `count` messages have arrived since the last reset (epoch ms of the first and last). */
  waitFor(count: number, timeoutMs: number): Promise<Arrival>;
  reset(): Promise<void>;
  close(): Promise<void>;
}

export async function startSmtpSink(tls: { key: string; cert: string }): Promise<SmtpSink> {
  const child = fork(__filename, [], {
    execArgv: ['-r', 'ts-node/register/transpile-only'],
    env: { ...process.env, SINK_KEY: tls.key, SINK_CERT: tls.cert },
  });
  track(child);
  const waiters = new Map<string, (message: Record<string, unknown>) => void>();
  child.on('message', (message: Record<string, unknown>) => waiters.get(message.type as string)?.(message));
  const next = (type: string, timeoutMs = 30_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`SMTP sink: no "${type}" within ${timeoutMs} ms`)), timeoutMs);
      waiters.set(type, (message) => {
        clearTimeout(timer);
        waiters.delete(type);
        resolve(message);
      });
    });
  const { port } = (await next('listening')) as { port: number };
  return {
    url: `smtp://127.0.0.1:${port}`,
    waitFor: async (count, timeoutMs) => {
      const done = next('arrived', timeoutMs);
      child.send({ type: 'expect', count });
      return (await done) as unknown as Arrival;
    },
    reset: async () => {
      const done = next('reset');
      child.send({ type: 'reset' });
      await done;
    },
    close: async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
    },
  };
}

function serve(): void {
  let arrival: Arrival = { count: 0, bytes: 0, first: 0, last: 0 };
  let expected = Infinity;
  const report = () => {
    if (arrival.count >= expected) {
      expected = Infinity;
      process.send!({ type: 'arrived', ...arrival });
    }
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH'],
    key: readFileSync(process.env.SINK_KEY!),
    cert: readFileSync(process.env.SINK_CERT!),
    logger: false,
    size: 10 * 1024 * 1024,
    onData(stream, _session, callback) {
      let bytes = 0;
      stream.on('data', (chunk: Buffer) => (bytes += chunk.length));
      stream.on('end', () => {
        const now = Date.now();
        if (arrival.count === 0) arrival.first = now;
        arrival.count++;
        arrival.bytes += bytes;
        arrival.last = now;
        callback();
        report();
      });
    },
  });
  server.on('error', () => undefined);
  process.on('message', (message: { type: string; count?: number }) => {
    if (message.type === 'reset') {
      arrival = { count: 0, bytes: 0, first: 0, last: 0 };
      process.send!({ type: 'reset' });
    } else if (message.type === 'expect') {
      expected = message.count!;
      report();
    }
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
  process.on('disconnect', () => process.exit(0));
  server.listen(0, '127.0.0.1', () => process.send!({ type: 'listening', port: (server.server.address() as AddressInfo).port }));
}

if (require.main === module) serve();

/** A throwaway self-signed certificate for 127.0.0.1 (the app trusts it through NODE_EXTRA_CA_CERTS). */
export function certificatePaths(dir: string): { key: string; cert: string } {
  return { key: join(dir, 'smtp-key.pem'), cert: join(dir, 'smtp-cert.pem') };
}

/** Writes that certificate into `dir` with openssl (valid one day) and returns its paths. */
export async function createCertificate(dir: string): Promise<{ key: string; cert: string }> {
  const tls = certificatePaths(dir);
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    tls.key,
    '-out',
    tls.cert,
    '-days',
    '1',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ]);
  return tls;
}
