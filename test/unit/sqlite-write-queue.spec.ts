import { DataSource } from 'typeorm';
import { CHECKED_TYPEORM_VERSION, installedTypeormVersion, SqliteWriteQueue } from '../../src/database/sqlite-write-queue';

describe('SqliteWriteQueue', () => {
  // Fails loudly on a TypeORM upgrade: the queue wraps driver internals checked against one version.
  it('was checked against the installed TypeORM version', () => {
    expect(installedTypeormVersion()).toBe(CHECKED_TYPEORM_VERSION);
  });

  describe('on an in-memory SQLite database', () => {
    let dataSource: DataSource;
    beforeEach(async () => {
      dataSource = await new DataSource({ type: 'better-sqlite3', database: ':memory:' }).initialize();
      await dataSource.query('CREATE TABLE t (n INTEGER)');
      SqliteWriteQueue.install(dataSource);
    });
    afterEach(async () => dataSource.destroy());

    it('runs overlapping transactions one after the other', async () => {
      const order: string[] = [];
      const slow = dataSource.manager.transaction(async (tx) => {
        order.push('a starts');
        await tx.query('INSERT INTO t (n) VALUES (1)');
        await new Promise((resolve) => setTimeout(resolve, 30));
        order.push('a ends');
      });
      const quick = dataSource.manager.transaction(async (tx) => {
        order.push('b starts');
        await tx.query('INSERT INTO t (n) VALUES (2)');
      });
      await Promise.all([slow, quick]);
      expect(order).toEqual(['a starts', 'a ends', 'b starts']);
    });

    it('keeps a query from outside out of an open transaction (it never sees rows rolled back)', async () => {
      let inserted!: () => void;
      const insertedYet = new Promise<void>((resolve) => (inserted = resolve));
      const failing = dataSource.manager.transaction(async (tx) => {
        await tx.query('INSERT INTO t (n) VALUES (1)');
        inserted();
        await new Promise((resolve) => setTimeout(resolve, 20));
        throw new Error('roll back');
      });
      await insertedYet;
      // Issued by other code while the transaction is open, with its uncommitted row.
      const seen = dataSource.query('SELECT COUNT(*) AS n FROM t');
      await expect(failing).rejects.toThrow('roll back');
      expect(await seen).toEqual([{ n: 0 }]);
    });
  });
});
