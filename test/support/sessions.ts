import type { DataSource } from 'typeorm';

/** Rewrites one field of every stored staff session (to simulate time passing without waiting). */
export async function patchStaffSessions(dataSource: DataSource, patch: Record<string, unknown>): Promise<void> {
  const rows: { sid: string; sess: string | object }[] = await dataSource.query('SELECT sid, sess FROM staff_sessions');
  for (const row of rows) {
    const sess = typeof row.sess === 'string' ? JSON.parse(row.sess) : row.sess;
    await dataSource.query('UPDATE staff_sessions SET sess = ? WHERE sid = ?', [JSON.stringify({ ...sess, ...patch }), row.sid]);
  }
}

export async function readStaffSessions(dataSource: DataSource): Promise<Array<Record<string, unknown>>> {
  const rows: { sess: string | object }[] = await dataSource.query('SELECT sess FROM staff_sessions');
  return rows.map((row) => (typeof row.sess === 'string' ? JSON.parse(row.sess) : row.sess));
}

export async function auditActions(
  dataSource: DataSource,
  where = '1 = 1',
  params: unknown[] = [],
): Promise<Array<{ action: string; outcome: string; actor_id: number | null; ip: string | null; details: string | null }>> {
  return dataSource.query(`SELECT action, outcome, actor_id, ip, details FROM audit_events WHERE ${where} ORDER BY id`, params);
}
