import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { DataSource } from 'typeorm';
import type { AuditContext } from '../audit/audit-context';
import { AuditService } from '../audit/audit.service';
import type { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { storedSessionId } from './session.setup';
import { deleteStaffUserSessions, listStaffUserSessions } from './staff-sessions.repository';

/** This request's session: its id and the session generation passport keeps with the user. */
export function currentStaffSession(req: Request): { sid: string; generation: number } {
  const stored = (req.session as unknown as { passport?: { user?: { generation?: unknown } } }).passport?.user;
  return { sid: req.sessionID, generation: Number(stored?.generation) };
}

/** One open staff session as the security page lists it. */
export interface StaffOpenSession {
  /** An HMAC of the stored sid: names the session in a form without revealing anything that opens it. */
  handle: string;
  device: string;
  signedInAt: Date;
  lastActivityAt: Date;
  current: boolean;
}

interface Listed extends StaffOpenSession {
  storedSid: string;
}

/**
 * A staff user's own open sessions (any number may be open at once): listed from the session
 * store's rows, ended by deleting them, so the ended cookie finds no session at its next request
 * on any instance and is sent to sign-in.
 */
@Injectable()
export class StaffSessionsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @InjectConfig() private readonly config: AppConfig,
    private readonly audit: AuditService,
  ) {}

  /** The user's sessions that the guard would still accept (same generation, within both timeouts), newest first. */
  async list(userId: number, generation: number, currentSid: string, now = new Date()): Promise<StaffOpenSession[]> {
    return (await this.listed(userId, generation, currentSid, now)).map(({ storedSid: _stored, ...session }) => session);
  }

  /** Ends one other session of the user; false when the handle names none of theirs (or this one). */
  async endOne(userId: number, generation: number, currentSid: string, handle: string, audit: AuditContext): Promise<boolean> {
    const target = (await this.listed(userId, generation, currentSid)).find((s) => !s.current && sameHandle(s.handle, handle));
    if (!target) return false;
    const ended = await deleteStaffUserSessions(this.db, userId, [target.storedSid]);
    if (ended === 0) return false;
    await this.audit.record(audit, {
      action: 'staff.session_ended',
      details: { staffUserId: userId, device: target.device, signedInAt: target.signedInAt.toISOString() },
    });
    return true;
  }

  /** Ends every other session of the user; returns how many ended. */
  async endOthers(userId: number, generation: number, currentSid: string, audit: AuditContext): Promise<number> {
    const others = (await this.listed(userId, generation, currentSid)).filter((s) => !s.current);
    const ended = await deleteStaffUserSessions(
      this.db,
      userId,
      others.map((s) => s.storedSid),
    );
    if (ended > 0)
      await this.audit.record(audit, { action: 'staff.sessions_ended', details: { staffUserId: userId, count: ended } });
    return ended;
  }

  private async listed(userId: number, generation: number, currentSid: string, now = new Date()): Promise<Listed[]> {
    const current = storedSessionId(currentSid);
    const idleSince = now.getTime() - this.config.staffIdleMinutes * 60_000;
    const signedInSince = now.getTime() - this.config.staffAbsoluteHours * 3_600_000;
    const rows = await listStaffUserSessions(this.db, userId, now);
    const sessions: Listed[] = [];
    for (const { storedSid, sess } of rows) {
      const user = (sess.passport as { user?: { id?: unknown; generation?: unknown } } | undefined)?.user;
      const signedInAt = Number(sess.signedInAt);
      const lastActivityAt = Number(sess.lastActivityAt);
      // The same tests as the guard's: a session it would refuse is not listed.
      if (Number(user?.id) !== userId || Number(user?.generation) !== generation) continue;
      if (!(lastActivityAt >= idleSince) || !(signedInAt >= signedInSince)) continue;
      sessions.push({
        storedSid,
        handle: this.handleOf(storedSid),
        device: typeof sess.staffDevice === 'string' ? sess.staffDevice : 'Unknown browser',
        signedInAt: new Date(signedInAt),
        lastActivityAt: new Date(lastActivityAt),
        current: storedSid === current,
      });
    }
    return sessions.sort((a, b) => Number(b.current) - Number(a.current) || b.signedInAt.getTime() - a.signedInAt.getTime());
  }

  private handleOf(storedSid: string): string {
    return createHmac('sha256', this.config.sessionSecret).update(`staff-session:${storedSid}`).digest('hex').slice(0, 32);
  }
}

function sameHandle(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
