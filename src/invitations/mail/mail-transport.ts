import type { MailerOptions } from '@nestjs-modules/mailer';
import { connect as netConnect, Socket } from 'node:net';
import type { AppConfig } from '../../config/app-config';

/**
 * The mailer's transport: pooled SMTP when SMTP_URL is set, otherwise nodemailer's
 * stream transport, whose messages the sender writes to MAIL_DIR as .eml files.
 */
export function mailerOptions(config: AppConfig): MailerOptions {
  const defaults = { from: config.mailFrom };
  if (!config.smtpUrl) return { transport: { streamTransport: true, buffer: true, newline: 'unix' }, defaults };
  const url = new URL(config.smtpUrl);
  const secure = url.protocol === 'smtps:';
  const port = url.port ? Number(url.port) : secure ? 465 : 587;
  return {
    transport: {
      host: url.hostname,
      port,
      secure,
      // Production: smtp:// must upgrade with STARTTLS; no silent plaintext fallback.
      requireTLS: config.isProduction && !secure,
      auth: url.username ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } : undefined,
      pool: true,
      maxConnections: config.smtpPoolSize,
      // No reconnect every 100 messages (PERF-NOTES: ~1,500/s → ~2,400/s on loopback).
      maxMessages: Infinity,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
      // nodemailer never sets TCP_NODELAY: each message would wait ~40 ms for a delayed ACK.
      getSocket: (_options: unknown, callback: (error: Error | null, socket?: { connection: Socket }) => void) => {
        const socket = netConnect({ host: url.hostname, port });
        socket.setNoDelay(true);
        const fail = (error: Error) => callback(error);
        socket.once('error', fail);
        socket.once('connect', () => {
          socket.off('error', fail);
          callback(null, { connection: socket });
        });
      },
    } as MailerOptions['transport'],
    defaults,
  };
}
