import type { Knex } from 'knex';
import type { DataSource } from 'typeorm';
import { execute, isSqliteManager } from '../database/sql';
import type { StaffRole } from './entities/staff-user.entity';

/** The staff user's fields a request needs (StaffAuthGuard, the layout), read with the session row. */
export interface SessionStaffUser {
  id: number;
  email: string;
  name: string;
  role: StaffRole;
  mustChangePassword: boolean;
  disabled: boolean;
  sessionGeneration: number;
}

/**
 * staff_sessions read together with the signed-in staff user: one round trip per request
 * instead of the session store's read followed by the user's (issue 23). The user's id is
 * the one passport keeps in the session (`sess.passport.user.id`); the join finds the
 * user's current row, so a disabled account or a bumped session generation stops the very
 * next request as before.
 */
export async function readSessionWithStaff(
  knex: Knex,
  table: string,
  storedSid: string,
  now: Date,
): Promise<{ sess: string | Record<string, unknown>; user: SessionStaffUser | null } | null> {
  const sqlite = knex.client.dialect === 'sqlite3';
  // The same spelling of "now" and the same expiry test as connect-session-knex's get().
  const [userId, notExpired, nowValue] = sqlite
    ? ["json_extract(s.sess, '$.passport.user.id')", 'datetime(?) <= datetime(s.expired)', now.toISOString()]
    : [
        "JSON_VALUE(s.sess, '$.passport.user.id')",
        'CAST(? AS DATETIME) <= s.expired',
        now.toISOString().slice(0, 19).replace('T', ' '),
      ];
  const rows: Array<Record<string, unknown>> = await knex
    .select(
      's.sess',
      'u.id as user_id',
      'u.email',
      'u.name',
      'u.role',
      'u.must_change_password',
      'u.disabled',
      'u.session_generation',
    )
    .from({ s: table })
    .joinRaw(`LEFT JOIN staff_users u ON u.id = ${userId}`)
    .where('s.sid', storedSid)
    .andWhereRaw(notExpired, [nowValue]);
  const row = rows[0];
  if (!row) return null;
  const truthy = (value: unknown) => value === true || Number(value) === 1;
  return {
    sess: row.sess as string,
    user:
      row.user_id === null || row.user_id === undefined
        ? null
        : {
            id: Number(row.user_id),
            email: String(row.email),
            name: String(row.name),
            role: row.role as StaffRole,
            mustChangePassword: truthy(row.must_change_password),
            disabled: truthy(row.disabled),
            sessionGeneration: Number(row.session_generation),
          },
  };
}

/** The SQL spelling of "the session's user id" and of "not expired at ?" on each dialect. */
function sessionSql(db: DataSource, now: Date): { userId: string; notExpired: string; nowValue: string } {
  return isSqliteManager(db)
    ? {
        userId: "json_extract(sess, '$.passport.user.id')",
        notExpired: 'datetime(?) <= datetime(expired)',
        nowValue: now.toISOString(),
      }
    : {
        userId: "JSON_VALUE(sess, '$.passport.user.id')",
        notExpired: 'CAST(? AS DATETIME) <= expired',
        nowValue: now.toISOString().slice(0, 19).replace('T', ' '),
      };
}

/**
 * A staff user's unexpired session rows (stored sid and parsed data); the caller applies the
 * session clock. Through the app's data source: the session store's table lives in the same database.
 */
export async function listStaffUserSessions(
  db: DataSource,
  userId: number,
  now: Date,
): Promise<Array<{ storedSid: string; sess: Record<string, unknown> }>> {
  const sql = sessionSql(db, now);
  const rows: Array<{ sid: string; sess: string | Record<string, unknown> }> = await db.query(
    `SELECT sid, sess FROM staff_sessions WHERE ${sql.userId} = ? AND ${sql.notExpired}`,
    [userId, sql.nowValue],
  );
  return rows.map((row) => ({
    storedSid: String(row.sid),
    sess: typeof row.sess === 'string' ? (JSON.parse(row.sess) as Record<string, unknown>) : row.sess,
  }));
}

/** Deletes the given session rows, only those that belong to `userId`; returns how many went. */
export async function deleteStaffUserSessions(db: DataSource, userId: number, storedSids: string[]): Promise<number> {
  if (storedSids.length === 0) return 0;
  const sql = sessionSql(db, new Date());
  return execute(
    db.manager,
    `DELETE FROM staff_sessions WHERE sid IN (${storedSids.map(() => '?').join(', ')}) AND ${sql.userId} = ?`,
    [...storedSids, userId],
  );
}
