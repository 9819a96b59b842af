import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { DataSource } from 'typeorm';
import { SYSTEM_CONTEXT } from '../audit/audit-context';
import { AuditService } from '../audit/audit.service';
import type { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { runInTransaction } from '../database/transactions';
import { Verp } from '../invitations/mail/verp';
import { MailOutboxRepository } from '../invitations/outbox.repository';
import { PortalAccountsRepository } from '../portal-access/portal-accounts.repository';
import { classifyDeliveryStatus, type Bounce } from './bounces';

/** A DSN is small; anything bigger is not one. */
const MAX_MESSAGE_BYTES = 512 * 1024;

/**
 * The optional inbound SMTP listener for bounces (BOUNCE_SMTP_PORT): accepts only our VERP return
 * paths at RCPT (anything else, including a forged HMAC, is refused there) and reads RFC 3464 reports.
 * A hard bounce marks the email bounced and the address bounced (reminders stop, resends are refused
 * until the address changes); a soft one is recorded. Point the MTA's bounces for BOUNCE_DOMAIN here.
 */
@Injectable()
export class BounceListener implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Bounces');
  private readonly verp: Verp | null;
  private server: SMTPServer | null = null;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectConfig() private readonly config: AppConfig,
    private readonly outbox: MailOutboxRepository,
    private readonly accounts: PortalAccountsRepository,
    private readonly audit: AuditService,
  ) {
    this.verp = config.bounceDomain ? new Verp(config.sessionSecret, config.bounceDomain) : null;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.bounceSmtpPort === null) return;
    if (!this.verp) throw new Error('BOUNCE_SMTP_PORT needs BOUNCE_DOMAIN (the return paths it accepts)');
    const verp = this.verp;
    this.server = new SMTPServer({
      name: this.config.bounceDomain ?? undefined,
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      logger: false,
      size: MAX_MESSAGE_BYTES,
      onRcptTo(address, _session, callback) {
        if (verp.outboxIdOf(address.address)) return callback();
        callback(Object.assign(new Error('No such recipient'), { responseCode: 550 }));
      },
      onData: (stream, session, callback) => {
        const ids = session.envelope.rcptTo.map((rcpt) => verp.outboxIdOf(rcpt.address)).filter((id): id is string => !!id);
        simpleParser(stream)
          .then(async (parsed) => {
            const bounce = isDeliveryReport(parsed) ? classifyDeliveryStatus(deliveryStatusText(parsed)) : null;
            if (bounce) for (const id of ids) await this.record(id, bounce);
            callback();
          })
          .catch((error: unknown) => {
            this.logger.error(`Bounce not read: ${(error as Error)?.message ?? String(error)}`);
            callback(Object.assign(new Error('Try again later'), { responseCode: 451 }));
          });
      },
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.config.bounceSmtpPort!, '0.0.0.0', () => resolve());
    });
    this.server.on('error', (error: Error) => this.logger.error(`Bounce listener: ${error.message}`));
  }

  /** The port listened on (BOUNCE_SMTP_PORT, or the free one picked for 0). */
  port(): number | null {
    const address = this.server?.server.address() as AddressInfo | null | undefined;
    return address ? address.port : null;
  }

  async onModuleDestroy(): Promise<void> {
    if (this.server) await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = null;
  }

  private async record(outboxId: string, bounce: Bounce): Promise<void> {
    await runInTransaction(this.dataSource, async (tx) => {
      const now = new Date();
      const email = await this.outbox.recordBounce(outboxId, bounce.kind, bounce.detail, now, tx);
      if (!email) return;
      if (bounce.kind === 'hard' && email.patientId !== null)
        await this.accounts.markEmailBounced(email.patientId, email.toAddress, now, tx);
      await this.audit.record(
        SYSTEM_CONTEXT,
        {
          action: 'mail.bounced',
          patientId: email.patientId,
          outcome: 'failure',
          details: { kind: bounce.kind, outboxId, to: email.toAddress, status: bounce.detail },
        },
        tx,
      );
    });
  }
}

/** A multipart/report of report-type delivery-status (RFC 3464); auto-replies and other mail are not. */
function isDeliveryReport(parsed: ParsedMail): boolean {
  const type = parsed.headers.get('content-type') as { value?: string; params?: Record<string, string> } | undefined;
  return type?.value?.toLowerCase() === 'multipart/report' && type.params?.['report-type']?.toLowerCase() === 'delivery-status';
}

/** mailparser keeps a message/delivery-status part as an attachment or folds it into the text; either holds the fields. */
function deliveryStatusText(parsed: ParsedMail): string {
  const part = parsed.attachments.find((attachment) => /^message\/(global-)?delivery-status$/i.test(attachment.contentType));
  return part ? part.content.toString('utf8') : (parsed.text ?? '');
}
