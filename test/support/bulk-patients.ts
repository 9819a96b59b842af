import { insertRows, toSqlDateTime } from '../../src/database/sql';
import type { TestApp } from './test-app';

/** `count` gray patients (access enabled, with an email), inserted set-based; returns their ids. */
export async function createManyPortalPatients(t: TestApp, count: number, tag = 'bulk'): Promise<number[]> {
  const now = toSqlDateTime(new Date());
  const [{ maxId }] = await t.dataSource.query('SELECT COALESCE(MAX(id), 0) AS maxId FROM patients');
  const ids = Array.from({ length: count }, (_, i) => Number(maxId) + 1 + i);
  await t.dataSource.transaction(async (tx) => {
    await insertRows(
      tx,
      'patients',
      ['id', 'first_name', 'last_name', 'date_of_birth', 'email', 'version', 'created_at', 'updated_at'],
      ids.map((id) => [id, `First${id}`, `Last${id}`, '1975-06-01', `${tag}${id}@example.test`, 1, now, now]),
    );
    await insertRows(
      tx,
      'portal_accounts',
      ['patient_id', 'access_enabled', 'enabled_at', 'version', 'updated_at'],
      ids.map((id) => [id, 1, now, 1, now]),
    );
  });
  return ids;
}

/** How many times each outbox id arrived at the SMTP server. */
export function deliveriesByOutboxId(received: Array<{ outboxId: string | null }>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const mail of received) if (mail.outboxId) counts.set(mail.outboxId, (counts.get(mail.outboxId) ?? 0) + 1);
  return counts;
}
