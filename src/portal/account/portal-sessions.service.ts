import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { randomBytes } from 'node:crypto';
import type { Request } from 'express';
import type { AuditContext } from '../../audit/audit-context';
import type { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { startSessionClock } from '../../auth/session-activity';
import { preferredLanguageOf } from '../../patients/patient-languages.repository';
import { describeUserAgent } from '../../common/user-agent';
import { PortalSessionsRepository, type SessionEndReason } from './portal-sessions.repository';

/** One open session as the account page lists it. */
export interface OpenSession {
  handle: string;
  device: string;
  signedInAt: Date;
  lastActivityAt: Date;
  ip: string | null;
  current: boolean;
}

/** Kept here too: the portal's callers import it from this module. */
export { describeUserAgent } from '../../common/user-agent';

/**
 * The portal sessions of an account: each sign-in opens a row (a random handle kept in the
 * session), every request checks it is still open, and the account page lists and ends them.
 */
@Injectable()
export class PortalSessionsService {
  constructor(
    private readonly rows: PortalSessionsRepository,
    @InjectConfig() private readonly config: AppConfig,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  /** A new handle for a session that has just signed in, registered as open. */
  async start(accountId: number, generation: number, context: AuditContext, at = new Date()): Promise<string> {
    const handle = randomBytes(16).toString('hex');
    await this.rows.open({ handle, accountId, generation, at, ip: context.ip, userAgent: context.userAgent });
    return handle;
  }

  /**
   * Makes `req` a signed-in session of the account: a new session id (a cookie planted before
   * is worth nothing after), a new handle, the session clock started.
   */
  async signIn(req: Request, accountId: number, generation: number, context: AuditContext, mustEnrol = false): Promise<void> {
    const handle = await this.start(accountId, generation, context);
    await new Promise<void>((resolve, reject) => req.session.regenerate((error) => (error ? reject(error) : resolve())));
    req.session.patient = { patientId: accountId, generation, handle, ...(mustEnrol ? { mustEnrol } : {}) };
    // Signed-in pages (and their form messages) follow the patient's preferred language unless they picked one.
    const language = await preferredLanguageOf(this.dataSource.manager, accountId);
    if (language) req.session.patientLanguage = language;
    startSessionClock(req);
  }

  isOpen(handle: string | undefined, accountId: number): Promise<boolean> {
    return handle ? this.rows.isOpen(handle, accountId) : Promise.resolve(false);
  }

  /** Called after the guard's activity mark: the row's "last activity" moves with the session's (once a minute at most). */
  async noteActivity(req: Request, before: number | undefined): Promise<void> {
    const handle = req.session.patient?.handle;
    const now = req.session.lastActivityAt;
    if (handle && now !== undefined && now !== before) await this.rows.touch(handle, new Date(now));
  }

  async end(accountId: number, handle: string | undefined, reason: SessionEndReason): Promise<boolean> {
    return handle ? this.rows.end(accountId, handle, reason, new Date()) : false;
  }

  endAllBut(accountId: number, keep: string | null, reason: SessionEndReason): Promise<number> {
    return this.rows.endAllBut(accountId, keep, reason, new Date());
  }

  /** The account's sessions that are open and not yet timed out, the current one marked. */
  async list(accountId: number, generation: number, currentHandle: string | undefined, now = new Date()): Promise<OpenSession[]> {
    const rows = await this.rows.openFor(
      accountId,
      generation,
      // The row's activity mark lags the session's by up to a minute.
      new Date(now.getTime() - (this.config.patientIdleMinutes + 1) * 60_000),
      new Date(now.getTime() - this.config.patientAbsoluteHours * 3_600_000),
    );
    return rows.map((row) => ({
      handle: row.handle,
      device: describeUserAgent(row.userAgent),
      signedInAt: row.signedInAt,
      lastActivityAt: row.lastActivityAt,
      ip: row.ip,
      current: row.handle === currentHandle,
    }));
  }
}
