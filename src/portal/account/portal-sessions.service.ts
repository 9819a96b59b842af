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
import { RepresentativeAccountsRepository } from '../../portal-access/representative-accounts.repository';
import type { AccountHolder } from './account-holder';
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
    private readonly representativeAccounts: RepresentativeAccountsRepository,
  ) {}

  /** A new handle for a session that has just signed in, registered as open. */
  async start(holder: AccountHolder, generation: number, context: AuditContext, at = new Date()): Promise<string> {
    const handle = randomBytes(16).toString('hex');
    await this.rows.open({ handle, holder, generation, at, ip: context.ip, userAgent: context.userAgent });
    return handle;
  }

  /**
   * Makes `req` a signed-in session of the account: a new session id (a cookie planted before
   * is worth nothing after), a new handle, the session clock started.
   */
  async signIn(req: Request, holder: AccountHolder, generation: number, context: AuditContext, mustEnrol = false): Promise<void> {
    const handle = await this.start(holder, generation, context);
    await new Promise<void>((resolve, reject) => req.session.regenerate((error) => (error ? reject(error) : resolve())));
    if (holder.kind === 'representative') {
      req.session.representative = { accountId: holder.id, generation, handle, ...(mustEnrol ? { mustEnrol } : {}) };
      // Their own language, if they (or staff) set one; else the page follows the browser.
      const language = await this.representativeAccounts.languageOf(holder.id);
      if (language) req.session.patientLanguage = language;
    } else {
      req.session.patient = { patientId: holder.id, generation, handle, ...(mustEnrol ? { mustEnrol } : {}) };
      // Signed-in pages (and their form messages) follow the patient's preferred language unless they picked one.
      const language = await preferredLanguageOf(this.dataSource.manager, holder.id);
      if (language) req.session.patientLanguage = language;
    }
    startSessionClock(req);
  }

  isOpen(handle: string | undefined, holder: AccountHolder): Promise<boolean> {
    return handle ? this.rows.isOpen(handle, holder) : Promise.resolve(false);
  }

  /** Called after the guard's activity mark: the row's "last activity" moves with the session's (once a minute at most). */
  async noteActivity(req: Request, holder: AccountHolder, handle: string | undefined, before: number | undefined): Promise<void> {
    const now = req.session.lastActivityAt;
    if (handle && now !== undefined && now !== before) await this.rows.touch(holder, handle, new Date(now));
  }

  async end(holder: AccountHolder, handle: string | undefined, reason: SessionEndReason): Promise<boolean> {
    return handle ? this.rows.end(holder, handle, reason, new Date()) : false;
  }

  endAllBut(holder: AccountHolder, keep: string | null, reason: SessionEndReason): Promise<number> {
    return this.rows.endAllBut(holder, keep, reason, new Date());
  }

  /** The account's sessions that are open and not yet timed out, the current one marked. */
  async list(
    holder: AccountHolder,
    generation: number,
    currentHandle: string | undefined,
    now = new Date(),
  ): Promise<OpenSession[]> {
    const rows = await this.rows.openFor(
      holder,
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
