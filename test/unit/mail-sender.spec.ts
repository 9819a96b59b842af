import { Logger } from '@nestjs/common';
import type { MailerService } from '@nestjs-modules/mailer';
import type { DataSource, EntityManager } from 'typeorm';
import type { AuditService } from '../../src/audit/audit.service';
import type { AppConfig } from '../../src/config/app-config';
import { MailSenderService } from '../../src/invitations/mail/mail-sender.service';
import type { ClaimedEmail, MailOutboxRepository } from '../../src/invitations/outbox.repository';

/** The sender's rules with fake repositories: which failures are retried, when, and which give up. */
describe('MailSenderService', () => {
  const tx = {} as EntityManager;
  const config = {
    smtpUrl: 'smtp://relay.invalid:25',
    smtpPoolSize: 1,
    mailClaimLeaseSeconds: 60,
    mailMaxAttempts: 3,
    mailRetryBaseMs: 10_000,
    publicBaseUrl: 'https://portal.example.test',
    mailSenderEnabled: false,
  } as AppConfig;

  const claimedEmail = (id: string, attempts: number, claimId = ''): ClaimedEmail => ({
    id,
    batch_id: null,
    patient_id: 42,
    kind: 'portal_invite',
    to_address: 'pat@example.test',
    subject: 'Hi',
    text_body: 'body',
    html_body: '<p>body</p>',
    attempts,
    claimed_by: claimId,
  });

  function setup(attempts: number, sendMail: () => Promise<unknown>) {
    const email = claimedEmail('7', attempts);
    let claims = 0;
    const outbox = {
      claimDue: jest.fn(async (claimId: string): Promise<ClaimedEmail[]> =>
        ++claims === 1 ? [{ ...email, claimed_by: claimId }] : [],
      ),
      renewLeases: jest.fn(async () => undefined),
      release: jest.fn(async () => undefined),
      markSent: jest.fn(async (ids: string[]) => new Set(ids)),
      scheduleRetry: jest.fn(async () => undefined),
      markFailed: jest.fn(async () => undefined),
    };
    const audit = { record: jest.fn(async () => undefined), recordMany: jest.fn(async () => undefined) };
    const dataSource = {
      options: { type: 'better-sqlite3' },
      transaction: async (work: (m: EntityManager) => Promise<unknown>) => work(tx),
    } as unknown as DataSource;
    const mailer = { sendMail: jest.fn(sendMail) } as unknown as MailerService;
    const sut = new MailSenderService(
      dataSource,
      config,
      mailer,
      audit as unknown as AuditService,
      outbox as unknown as MailOutboxRepository,
    );
    return { sut, outbox, audit, mailer };
  }

  beforeAll(() => Logger.overrideLogger(false));

  it('marks a delivered email sent (its claim, in one transaction with its audit row)', async () => {
    const { sut, outbox, audit } = setup(1, async () => ({ messageId: 'x' }));
    expect(await sut.drainOnce()).toEqual({ sent: 1, retried: 0, failed: 0 });
    expect(outbox.markSent).toHaveBeenCalledWith(['7'], expect.stringMatching(/#\d+$/), expect.any(Date), tx);
    expect(audit.recordMany).toHaveBeenCalledWith(
      expect.anything(),
      [expect.objectContaining({ action: 'mail.sent', patientId: 42 })],
      tx,
    );
    expect(outbox.scheduleRetry).not.toHaveBeenCalled();
  });

  it('retries a temporary failure (4xx, dropped connection) with exponential backoff and ±10 % jitter', async () => {
    for (const [attempts, base] of [
      [1, 10_000],
      [2, 20_000],
    ] as const) {
      const { sut, outbox, audit } = setup(attempts, async () =>
        Promise.reject(Object.assign(new Error('try later'), { responseCode: 451, response: '451 try later' })),
      );
      const before = Date.now();
      expect(await sut.drainOnce()).toEqual({ sent: 0, retried: 1, failed: 0 });
      const [id, , retryAt, reason] = outbox.scheduleRetry.mock.calls[0] as unknown as [string, string, Date, string];
      expect(id).toBe('7');
      expect(reason).toBe('451: 451 try later');
      // Rounded up to whole seconds, never earlier than the delay.
      expect(retryAt.getTime() % 1000).toBe(0);
      expect(retryAt.getTime()).toBeGreaterThanOrEqual(before + base * 0.9);
      expect(retryAt.getTime()).toBeLessThanOrEqual(Date.now() + base * 1.1 + 1000);
      expect(outbox.markFailed).not.toHaveBeenCalled();
      expect(audit.record).not.toHaveBeenCalled();
    }
    const { sut, outbox } = setup(1, async () =>
      Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
    );
    expect(await sut.drainOnce()).toEqual({ sent: 0, retried: 1, failed: 0 });
    expect(outbox.scheduleRetry).toHaveBeenCalledTimes(1);
  });

  it('gives up at once on a permanent failure (5xx), and on a temporary one after the last attempt, with an audit row', async () => {
    for (const [attempts, error] of [
      [1, { responseCode: 550, response: '550 no such user' }],
      [3, { responseCode: 421, response: '421 busy' }],
    ] as const) {
      const { sut, outbox, audit } = setup(attempts, async () => Promise.reject(Object.assign(new Error('refused'), error)));
      expect(await sut.drainOnce()).toEqual({ sent: 0, retried: 0, failed: 1 });
      expect(outbox.markFailed).toHaveBeenCalledWith('7', expect.any(String), `${error.responseCode}: ${error.response}`, tx);
      expect(outbox.scheduleRetry).not.toHaveBeenCalled();
      expect(audit.record).toHaveBeenCalledWith(
        expect.anything(),
        expect.objectContaining({ action: 'mail.failed', outcome: 'failure', patientId: 42 }),
        tx,
      );
    }
  });

  it('prepares the next claim while the previous one is still being sent, but claims ahead only a few emails per send slot', async () => {
    // One pooled connection: 2 send slots, a claim of 2 until a rate is measured, the next claim once ≤ 4 wait for a slot.
    const { sut, outbox } = setup(1, async () => ({ messageId: 'x' }));
    let nextId = 0;
    outbox.claimDue.mockImplementation(async (claimId: string, _lease?: unknown, _due?: unknown, limit?: unknown) =>
      nextId >= 40
        ? []
        : Array.from({ length: Math.min(Number(limit), 40 - nextId) }, () => claimedEmail(String(++nextId), 1, claimId)),
    );
    const pending: Array<() => void> = [];
    const sendMail = jest.fn(() => new Promise((resolve) => pending.push(() => resolve({ messageId: 'x' }))));
    (sut as unknown as { mailer: { sendMail: typeof sendMail } }).mailer.sendMail = sendMail;
    const ticks = async () => {
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    };

    const drained = sut.drainOnce();
    await ticks();
    // Nothing has been sent yet, and more than the first claim is already waiting behind the two in flight…
    expect(sendMail).toHaveBeenCalledTimes(2);
    expect(outbox.claimDue.mock.calls.length).toBeGreaterThan(1);
    // …but no more than the two in flight, four waiting and one claim beyond them.
    expect(nextId).toBeLessThanOrEqual(2 + 4 + 2);
    while (sendMail.mock.calls.length < 40 || pending.length) {
      pending.splice(0).forEach((finish) => finish());
      await ticks();
    }
    expect(await drained).toEqual({ sent: 40, retried: 0, failed: 0 });
    const marked = outbox.markSent.mock.calls.flatMap((call) => call[0] as string[]);
    expect(marked.sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 40 }, (_, i) => String(i + 1)));
  });
});
