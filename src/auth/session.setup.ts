import { ConnectSessionKnexStore } from 'connect-session-knex';
import type { RequestHandler } from 'express';
import session from 'express-session';
import type { Knex } from 'knex';
import type { AppConfig } from '../config/app-config';
import { withConflictRetry } from '../database/transactions';

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

/**
 * connect-session-knex without `touch`: express-session would otherwise UPDATE the
 * session row on every request. The guards enforce the idle timeout themselves and
 * save the session (so its row's expiry moves) at most once a minute while in use.
 */
class UntouchedKnexStore extends ConnectSessionKnexStore {
  constructor(options: ConstructorParameters<typeof ConnectSessionKnexStore>[0]) {
    super(options);
    Object.defineProperty(this, 'touch', { value: undefined });
  }

  // Saving a session is one upsert; on Galera two instances saving it at once conflict (1213): run it again.
  override async set(sid: string, session: session.SessionData, callback?: (err?: unknown) => void): Promise<void> {
    try {
      await withConflictRetry(() => super.set(sid, session));
    } catch (error) {
      if (!callback) throw error;
      return callback(error);
    }
    callback?.();
  }

  override async destroy(sid: string, callback?: (err?: unknown) => void): Promise<number> {
    let deleted = 0;
    try {
      deleted = await withConflictRetry(() => super.destroy(sid));
    } catch (error) {
      if (!callback) throw error;
      callback(error);
      return 0;
    }
    callback?.();
    return deleted;
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
      store: new UntouchedKnexStore({ knex: db, tableName: table, createTable: false, cleanupInterval: 15 * 60_000 }),
      resave: false,
      saveUninitialized: false,
      // The idle timeout is enforced by the guards (so polling does not extend it); the cookie carries the absolute lifetime.
      rolling: false,
      proxy: config.trustProxyHops > 0,
      cookie: { httpOnly: true, sameSite: 'lax', secure: config.cookieSecure, maxAge: maxAgeMs, path },
    });
  return {
    staff: make(STAFF_COOKIE, 'staff_sessions', config.staffAbsoluteHours * 3_600_000, '/'),
    patient: make(PATIENT_COOKIE, 'patient_sessions', 12 * 3_600_000, '/portal'),
  };
}
