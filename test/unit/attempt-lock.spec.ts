import { DataSource, type EntityManager, type Repository } from 'typeorm';
import type { StaffUser } from '../../src/auth/entities/staff-user.entity';
import { AttemptLock, LOCKOUT_MINUTES, MAX_FAILED_SIGN_INS } from '../../src/auth/lockout/attempt-lock';
import type { LockoutColumns } from '../../src/auth/lockout/lockout-columns';
import { StaffUsersRepository } from '../../src/auth/staff-users.repository';
import { toSqlDateTime } from '../../src/database/sql';
import { SqliteWriteQueue } from '../../src/database/sqlite-write-queue';
import { PatientLockoutColumns, RepresentativeLockoutColumns } from '../../src/portal-access/lockout-columns.repository';

/**
 * The lockout rule over each owner's own SQL for its lockout columns, on an in-memory SQLite database
 * with the app's write queue: the sut is the rule, built with the owner's repository as its port.
 */
const OWNERS: Array<{ table: string; key: string; columnsOf: (db: DataSource) => LockoutColumns }> = [
  {
    table: 'staff_users',
    key: 'id',
    // Only the lockout methods run here, and they use the repository's manager alone.
    columnsOf: (db) => new StaffUsersRepository({ manager: db.manager } as Repository<StaffUser>),
  },
  {
    table: 'portal_accounts',
    key: 'patient_id',
    columnsOf: (db) => new PatientLockoutColumns(db),
  },
  { table: 'representative_accounts', key: 'id', columnsOf: (db) => new RepresentativeLockoutColumns(db) },
];

describe.each(OWNERS)('AttemptLock over $table', ({ table, key, columnsOf }) => {
  const id = 7;
  const now = new Date('2026-03-01T12:00:00Z');
  const minutesLater = (minutes: number) => new Date(now.getTime() + minutes * 60_000);
  let db: DataSource;

  beforeEach(async () => {
    db = await new DataSource({ type: 'better-sqlite3', database: ':memory:' }).initialize();
    await db.query(
      `CREATE TABLE ${table} (${key} INTEGER PRIMARY KEY, failed_login_count INTEGER NOT NULL, locked_until DATETIME)`,
    );
    await db.query(`INSERT INTO ${table} (${key}, failed_login_count) VALUES (?, 0)`, [id]);
    SqliteWriteQueue.install(db);
  });
  afterEach(async () => db.destroy());

  function setup() {
    const failures: Array<{ failures: number; locked: boolean; inTransaction: boolean }> = [];
    const sut = new AttemptLock(columnsOf(db), db);
    const onWrong = async (failure: { failures: number; locked: boolean }, tx: EntityManager) => {
      failures.push({ ...failure, inTransaction: Boolean(tx.queryRunner?.isTransactionActive) });
    };
    const row = async () => {
      const [found] = await db.query(`SELECT failed_login_count, locked_until FROM ${table} WHERE ${key} = ?`, [id]);
      return { count: Number(found.failed_login_count), lockedUntil: found.locked_until as string | null };
    };
    return { sut, failures, onWrong, row };
  }

  it(`counts wrong answers and locks at the ${MAX_FAILED_SIGN_INS}th for ${LOCKOUT_MINUTES} minutes, recorded in the counting transaction`, async () => {
    const { sut, failures, onWrong, row } = setup();
    const results = [];
    for (let i = 0; i < MAX_FAILED_SIGN_INS; i++) results.push(await sut.attempt(id, async () => false, onWrong, now));

    expect(results).toEqual([
      ...Array.from({ length: MAX_FAILED_SIGN_INS - 1 }, () => ({ outcome: 'wrong', locked: false })),
      { outcome: 'wrong', locked: true },
    ]);
    expect(failures.map(({ failures: count, locked }) => ({ count, locked }))).toEqual(
      Array.from({ length: MAX_FAILED_SIGN_INS }, (_unused, i) => ({ count: i + 1, locked: i === MAX_FAILED_SIGN_INS - 1 })),
    );
    expect(failures.every((failure) => failure.inTransaction)).toBe(true);
    expect(await row()).toEqual({ count: 0, lockedUntil: toSqlDateTime(minutesLater(LOCKOUT_MINUTES)) });
    expect(await sut.isLocked(id, minutesLater(LOCKOUT_MINUTES - 1))).toBe(true);
    expect(await sut.isLocked(id, minutesLater(LOCKOUT_MINUTES))).toBe(false);
  });

  it('refuses a locked account without checking the answer, and counts again once the lock is over', async () => {
    const { sut, onWrong } = setup();
    for (let i = 0; i < MAX_FAILED_SIGN_INS; i++) await sut.attempt(id, async () => false, onWrong, now);
    const check = jest.fn(async () => true);

    expect(await sut.attempt(id, check, onWrong, minutesLater(1))).toEqual({ outcome: 'refused' });
    expect(check).not.toHaveBeenCalled();
    expect(await sut.attempt(id, check, onWrong, minutesLater(LOCKOUT_MINUTES))).toEqual({ outcome: 'right', value: true });
    expect(check).toHaveBeenCalledTimes(1);
  });

  it('keeps a right answer counted until it is released, and a release never goes below zero', async () => {
    const { sut, failures, onWrong, row } = setup();
    expect(await sut.attempt(id, async () => ({ factor: 'totp' }), onWrong, now)).toEqual({
      outcome: 'right',
      value: { factor: 'totp' },
    });
    expect(failures).toEqual([]);
    expect((await row()).count).toBe(1);
    await sut.release(id);
    await sut.release(id);
    expect(await row()).toEqual({ count: 0, lockedUntil: null });
  });

  it('takes null as a wrong answer too (a code that matched no factor)', async () => {
    const { sut, onWrong, row } = setup();
    expect(await sut.attempt(id, async () => null, onWrong, now)).toEqual({ outcome: 'wrong', locked: false });
    expect((await row()).count).toBe(1);
  });

  it('checks no more than the limit of twenty parallel answers, and one failure alone takes the lock', async () => {
    const { sut, failures, onWrong, row } = setup();
    let checked = 0;
    const slowWrong = async () => {
      checked++;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return false;
    };
    const results = await Promise.all(Array.from({ length: 20 }, () => sut.attempt(id, slowWrong, onWrong, now)));

    expect(checked).toBe(MAX_FAILED_SIGN_INS);
    expect(results.filter((result) => result.outcome === 'refused')).toHaveLength(20 - MAX_FAILED_SIGN_INS);
    expect(failures.filter((failure) => failure.locked)).toHaveLength(1);
    // Every wrong answer reports the lock, whichever failure took it.
    expect(results.filter((result) => result.outcome === 'wrong')).toEqual(
      Array.from({ length: MAX_FAILED_SIGN_INS }, () => ({ outcome: 'wrong', locked: true })),
    );
    expect((await row()).lockedUntil).not.toBeNull();
  });

  it('does not count an unknown account (and checks nothing)', async () => {
    const { sut, onWrong } = setup();
    const check = jest.fn(async () => true);
    expect(await sut.attempt(id + 1, check, onWrong, now)).toEqual({ outcome: 'refused' });
    expect(check).not.toHaveBeenCalled();
  });
});
