import { DataSource } from 'typeorm';
import { AuditService } from '../../../src/audit/audit.service';
import { SYSTEM_CONTEXT } from '../../../src/audit/audit-context';
import { startTestApp, TestApp } from '../../support/test-app';

const count = async (dataSource: DataSource, action: string) =>
  Number((await dataSource.query('SELECT COUNT(*) AS n FROM audit_events WHERE action = ?', [action]))[0].n);

/**
 * On SQLite the app has one connection: without care, another request's query would run
 * inside an open transaction, see its uncommitted rows and be rolled back with it.
 */
describe('a transaction and other requests at the same time', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t.close());

  it('others never see its uncommitted rows, and their own writes survive its rollback', async () => {
    const audit = t.app.get(AuditService);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let inserted!: () => void;
    const insertedInside = new Promise<void>((resolve) => (inserted = resolve));

    const rolledBack = t.dataSource
      .transaction(async (tx) => {
        await audit.record(SYSTEM_CONTEXT, { action: 'test.uncommitted' }, tx);
        inserted();
        await held;
        throw new Error('roll back');
      })
      .catch((error: Error) => error.message);

    await insertedInside;
    const reading = count(t.dataSource, 'test.uncommitted');
    const writing = audit.record(SYSTEM_CONTEXT, { action: 'test.outside' });
    release();
    expect(await rolledBack).toBe('roll back');
    expect(await reading).toBe(0);
    await writing;
    expect(await count(t.dataSource, 'test.outside')).toBe(1);
    expect(await count(t.dataSource, 'test.uncommitted')).toBe(0);
  });
});
