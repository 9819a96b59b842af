import { ConnectSessionKnexStore } from 'connect-session-knex';
import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import session from 'express-session';
import type { Knex } from 'knex';
import type { AppConfig } from '../config/app-config';

export const STAFF_COOKIE = 'staff.sid';
export const PATIENT_COOKIE = 'portal.sid';

declare module 'express-session' {
  interface SessionData {
    /** Epoch ms of the last request that counts as activity (htmx polling does not). */
    lastActivityAt?: number;
    /** Epoch ms when the session was created by a sign-in; the absolute lifetime runs from here. */
    signedInAt?: number;
  }
}

/** What the sessions table keeps instead of the id: a database or backup leak then hijacks no session. */
export const storedSessionId = (sid: string) => createHash('sha256').update(sid, 'utf8').digest('hex');

/**
 * connect-session-knex keyed by the SHA-256 of the session id (SECURITY.md §4), and without
 * `touch`: express-session would otherwise UPDATE the session row on every request. The
 * guards enforce the idle timeout themselves and save the session (so its row's expiry
 * moves) at most once a minute while in use.
 */
class HashedUntouchedKnexStore extends ConnectSessionKnexStore {
  constructor(options: ConstructorParameters<typeof ConnectSessionKnexStore>[0]) {
    super(options);
    Object.defineProperty(this, 'touch', { value: undefined });
  }

  override get(sid: string, callback: Parameters<ConnectSessionKnexStore['get']>[1]) {
    return super.get(storedSessionId(sid), callback);
  }

  override set(sid: string, session: Parameters<ConnectSessionKnexStore['set']>[1], callback?: Parameters<ConnectSessionKnexStore['set']>[2]) {
    return super.set(storedSessionId(sid), session, callback);
  }

  override destroy(sid: string, callback?: Parameters<ConnectSessionKnexStore['destroy']>[1]) {
    return super.destroy(storedSessionId(sid), callback);
  }
}

/**
 * Two separate session cookies and tables: staff (everything but /portal) and
 * patients (/portal). A staff cookie never authorises a portal page, nor the reverse.
 */
export function createSessionMiddlewares(config: AppConfig, db: Knex): { staff: RequestHandler; patient: RequestHandler } {
  const make = (name: string, table: string, maxAgeMs: number, path: string) =>
    session({
      name,
      secret: config.sessionSecret,
      store: new HashedUntouchedKnexStore({ knex: db, tableName: table, createTable: false, cleanupInterval: 15 * 60_000 }),
      resave: false,
      saveUninitialized: false,
      // The idle timeout is enforced by the guards (so polling does not extend it); the cookie carries the absolute lifetime.
      rolling: false,
      proxy: config.trustProxyHops > 0,
      cookie: { httpOnly: true, sameSite: 'lax', secure: config.cookieSecure, maxAge: maxAgeMs, path },
    });
  return {
    staff: make(STAFF_COOKIE, 'staff_sessions', config.staffAbsoluteHours * 3_600_000, '/'),
    patient: make(PATIENT_COOKIE, 'patient_sessions', config.patientAbsoluteHours * 3_600_000, '/portal'),
  };
}
