import { ConnectSessionKnexStore } from 'connect-session-knex';
import { createHash } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import session, { type SessionData } from 'express-session';
import type { Knex } from 'knex';
import type { AppConfig } from '../config/app-config';
import { withConflictRetry } from '../database/transactions';
import { readSessionWithStaff, type SessionStaffUser } from './staff-sessions.repository';

export const STAFF_COOKIE = 'staff.sid';
export const PATIENT_COOKIE = 'portal.sid';

/**
 * The session cookies as set. With Secure on (production) the names carry the prefix browsers
 * enforce (SECURITY.md §4): `__Host-` means Secure, Path=/ and no Domain, so a sibling subdomain
 * can neither plant nor shadow the staff cookie; the portal cookie's Path=/portal allows only
 * `__Secure-`. Over plain-http loopback (tests, benchmarks) browsers would refuse the prefixes.
 */
export function sessionCookies(config: Pick<AppConfig, 'cookieSecure'>) {
  const options = { httpOnly: true, sameSite: 'lax' as const, secure: config.cookieSecure };
  return {
    staff: { name: config.cookieSecure ? `__Host-${STAFF_COOKIE}` : STAFF_COOKIE, ...options, path: '/' },
    patient: { name: config.cookieSecure ? `__Secure-${PATIENT_COOKIE}` : PATIENT_COOKIE, ...options, path: '/portal' },
  };
}

declare module 'express-session' {
  interface SessionData {
    /** Epoch ms of the last request that counts as activity (htmx polling does not). */
    lastActivityAt?: number;
    /** Epoch ms when the session was created by a sign-in; the absolute lifetime runs from here. */
    signedInAt?: number;
    /** Staff: the browser and system the session signed in from ("Firefox 128 on Linux"), for the security page's list. */
    staffDevice?: string;
  }
}

/** What the sessions table keeps instead of the id: a database or backup leak then hijacks no session. */
export const storedSessionId = (sid: string) => createHash('sha256').update(sid, 'utf8').digest('hex');

const PREREAD_STAFF = Symbol('staff user read with the session');

/**
 * The staff user read with this request's session row (undefined: not read that way, e.g. a
 * session saved during this request; null: the user no longer exists). Taken once.
 */
export function takePrereadStaffUser(req: Request): SessionStaffUser | null | undefined {
  const holder = req as Request & { [PREREAD_STAFF]?: SessionStaffUser | null };
  const user = holder[PREREAD_STAFF];
  delete holder[PREREAD_STAFF];
  return user;
}

/**
 * connect-session-knex keyed by the SHA-256 of the session id (SECURITY.md §4), and without
 * `touch`: express-session would otherwise UPDATE the session row on every request. The
 * guards enforce the idle timeout themselves and save the session (so its row's expiry
 * moves) at most once a minute while in use.
 */
class HashedUntouchedKnexStore extends ConnectSessionKnexStore {
  constructor(
    options: ConstructorParameters<typeof ConnectSessionKnexStore>[0],
    /** The idle timeout: a signed-in session's row expires this long (plus a minute) after its last activity. */
    private readonly idleMs: number,
    /** Staff sessions: the signed-in user's row is read in the same query (prereadStaffUser). */
    private readonly withStaffUser = false,
  ) {
    super(options);
    Object.defineProperty(this, 'touch', { value: undefined });
  }

  override async get(sid: string, callback: Parameters<ConnectSessionKnexStore['get']>[1]) {
    if (!this.withStaffUser) return super.get(storedSessionId(sid), callback);
    try {
      const found = await readSessionWithStaff(this.options.knex, this.options.tableName, storedSessionId(sid), new Date());
      const session = found ? (typeof found.sess === 'string' ? JSON.parse(found.sess) : found.sess) : null;
      // A symbol key: never copied into the session, never saved.
      if (session) Object.defineProperty(session, PREREAD_STAFF, { value: found!.user, enumerable: false });
      callback?.(null, session);
      return session;
    } catch (error) {
      callback?.(error);
      throw error;
    }
  }

  override createSession(req: Request, sess: SessionData) {
    const user = (sess as SessionData & { [PREREAD_STAFF]?: SessionStaffUser | null })[PREREAD_STAFF];
    if (user !== undefined) (req as Request & { [PREREAD_STAFF]?: SessionStaffUser | null })[PREREAD_STAFF] = user;
    return super.createSession(req, sess);
  }

  /**
   * The store dates a row by the cookie's absolute lifetime; a signed-in session idle past its
   * timeout is dead long before that, so its row is dated by the idle timeout and the store's
   * cleanup purges it soon after (not hours later). Saving is one upsert; on Galera two
   * instances saving the same session at once conflict (1213): it runs again.
   */
  override async set(
    sid: string,
    session: Parameters<ConnectSessionKnexStore['set']>[1],
    callback?: Parameters<ConnectSessionKnexStore['set']>[2],
  ) {
    const stored = storedSessionId(sid);
    try {
      await withConflictRetry(() => super.set(stored, session));
      const lastActivityAt = session.lastActivityAt;
      const idleEnd = typeof lastActivityAt === 'number' ? lastActivityAt + this.idleMs + 60_000 : null;
      if (idleEnd !== null && (!session.cookie.expires || idleEnd < session.cookie.expires.getTime())) {
        const { knex, tableName } = this.options;
        const iso = new Date(idleEnd).toISOString();
        // The same DATETIME spelling the store itself writes on each dialect.
        await withConflictRetry(() =>
          knex(tableName)
            .where('sid', stored)
            .update({ expired: knex.client.dialect === 'sqlite3' ? iso : iso.slice(0, 19).replace('T', ' ') }),
        );
      }
      callback?.();
    } catch (error) {
      callback?.(error);
    }
  }

  override async destroy(sid: string, callback?: Parameters<ConnectSessionKnexStore['destroy']>[1]) {
    let deleted: number;
    try {
      deleted = await withConflictRetry(() => super.destroy(storedSessionId(sid)));
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
  const cookies = sessionCookies(config);
  const make = (name: string, table: string, maxAgeMs: number, idleMinutes: number, path: string) =>
    session({
      name,
      secret: config.sessionSecret,
      store: new HashedUntouchedKnexStore(
        { knex: db, tableName: table, createTable: false, cleanupInterval: 15 * 60_000 },
        idleMinutes * 60_000,
        table === 'staff_sessions',
      ),
      resave: false,
      saveUninitialized: false,
      // The idle timeout is enforced by the guards (so polling does not extend it); the cookie carries the absolute lifetime.
      rolling: false,
      proxy: config.trustProxyHops > 0,
      cookie: { httpOnly: true, sameSite: 'lax', secure: config.cookieSecure, maxAge: maxAgeMs, path },
    });
  return {
    staff: make(cookies.staff.name, 'staff_sessions', config.staffAbsoluteHours * 3_600_000, config.staffIdleMinutes, '/'),
    patient: make(
      cookies.patient.name,
      'patient_sessions',
      config.patientAbsoluteHours * 3_600_000,
      config.patientIdleMinutes,
      '/portal',
    ),
  };
}
