import { simpleParser, type ParsedMail } from 'mailparser';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  /** Envelope recipients. */
  to: string[];
  /** The envelope sender (MAIL FROM): the VERP return path when BOUNCE_DOMAIN is set. */
  from: string;
  /** The Message-ID header; the sender sets `<outbox-ID@host>`. */
  messageId: string;
  /** The outbox row id taken from the Message-ID. */
  outboxId: string | null;
  raw: string;
}

export interface TestSmtpServer {
  /** SMTP_URL for the app. */
  url: string;
  received: ReceivedMail[];
  /** Answer every MAIL FROM with this (e.g. 451 for an outage, 550 for a refusal) until `accept()`. */
  refuse(code: number, message?: string): void;
  accept(): void;
  /** Messages refused while refusing. */
  refusedCount(): number;
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  /**
   * The newest message to `address` among those received from index `since` on, once one is
   * there. Where other tests' emails may be in flight (one drain sends every queued email, in
   * parallel on MariaDB), "the last message received" can be somebody else's.
   */
  waitForMailTo(address: string, since: number, timeoutMs?: number): Promise<ReceivedMail>;
  parse(mail: ReceivedMail): Promise<ParsedMail>;
  close(): Promise<void>;
}

/**
 * A real SMTP server (the `smtp-server` package) on a loopback port that keeps what it
 * receives in memory. No TLS, no auth: the app's test config uses plain smtp://.
 * `delayMs` makes it a slow relay: each message is acknowledged only after that long,
 * so one connection carries at most one message per delay (and a test can act while sends are in flight).
 */
export async function startSmtpServer(options: { delayMs?: number } = {}): Promise<TestSmtpServer> {
  const received: ReceivedMail[] = [];
  let refusal: { code: number; message: string } | null = null;
  let refused = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    size: 10 * 1024 * 1024,
    onMailFrom(_address, _session, callback) {
      if (!refusal) return callback();
      refused++;
      callback(Object.assign(new Error(refusal.message), { responseCode: refusal.code }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const messageId = /^Message-ID:\s*(<[^>\r\n]+>)/im.exec(raw)?.[1] ?? '';
        received.push({
          to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          messageId,
          outboxId: /^<outbox-(\d+)@/.exec(messageId)?.[1] ?? null,
          raw,
        });
        if (options.delayMs) setTimeout(() => callback(), options.delayMs);
        else callback();
      });
    },
  });
  // A client killed mid-session (the crash test) resets its connections: not an error of the server.
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    refuse: (code, message = code >= 500 ? 'Mailbox unavailable' : 'Try again later') => {
      refusal = { code, message };
    },
    accept: () => {
      refusal = null;
    },
    refusedCount: () => refused,
    waitFor: async (count, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`SMTP server got ${received.length} of ${count} messages`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    waitForMailTo: async (address, since, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const mine = received.slice(since).filter((mail) => mail.to.includes(address));
        if (mine.length > 0) return mine[mine.length - 1];
        if (Date.now() > deadline)
          throw new Error(`SMTP server got no message to ${address} (${received.length - since} to others)`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    parse: (mail) => simpleParser(mail.raw),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The portal link in a received email (plain-text part), as a path for supertest. */
export async function linkFrom(
  smtp: TestSmtpServer,
  mail: ReceivedMail,
  baseUrl: string,
): Promise<{ url: string; path: string; token: string }> {
  const parsed = await smtp.parse(mail);
  const match = new RegExp(`${baseUrl.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(/portal/(?:invite|reset)/([A-Za-z0-9_-]+))`).exec(
    parsed.text ?? '',
  );
  if (!match) throw new Error(`No portal link in: ${parsed.text}`);
  return { url: match[0], path: match[1], token: match[2] };
}
