import type request from 'supertest';
import type { TestApp } from './test-app';
import { inEnglish } from './in-english';

export interface UploadedRun {
  res: request.Response;
  id?: string;
  page?: request.Response;
  run:
    | (Record<string, unknown> & {
        status: string;
        message: string | null;
        counts: Record<string, any>;
        problems: Array<{ where: string; reason: string; externalId?: string }>;
        warnings: Array<{ where: string; reason: string }>;
      })
    | null;
}

/** Uploads a file through the import page (htmx, CSRF header), waits for the run to finish and reads its page and row. */
export async function uploadImport(
  t: TestApp,
  admin: request.Agent & { csrf: string },
  file: string,
  fields: Record<string, string> = {},
  name?: string,
  waitMs = 120_000,
): Promise<UploadedRun> {
  let req = admin
    .post('/admin/import')
    .set('X-CSRF-Token', admin.csrf)
    .set('HX-Request', 'true')
    .attach('file', file, name ? { filename: name } : undefined);
  for (const [key, value] of Object.entries(fields)) req = req.field(key, value);
  const res = await req;
  if (res.status !== 200) return { res, run: null };
  const id = /import-run-([0-9a-f-]{36})/.exec(res.text)![1];
  for (let i = 0; i < waitMs / 50; i++) {
    const [row] = await t.dataSource.query('SELECT status FROM import_runs WHERE id = ?', [id]);
    if (row.status !== 'running') break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const page = await admin.get(`/admin/import/runs/${id}`).expect(200);
  const [run] = await t.dataSource.query('SELECT * FROM import_runs WHERE id = ?', [id]);
  const stored = JSON.parse(run.problems);
  if (!stored) throw new Error(`import run ${id} is still ${run.status}: ${run.message ?? 'no message'}`);
  return {
    res,
    id,
    page,
    // Places, reasons and not-imported kinds are stored as message keys: the specs read them in English.
    run: {
      ...run,
      counts: inEnglish(JSON.parse(run.counts)),
      problems: inEnglish(stored.problems),
      warnings: inEnglish(stored.warnings ?? []),
    },
  };
}
