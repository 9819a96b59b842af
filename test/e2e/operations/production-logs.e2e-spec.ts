import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVER_FILE } from '../../../src/operations/running-servers';
import { ServerProcess, startServerProcess } from '../../support/server-process';
import { startTestApp, testEnv, TestApp } from '../../support/test-app';

interface LogLine {
  level: number;
  time: string;
  msg: string;
  reqId?: string;
  setupUrl?: string;
  [key: string]: unknown;
}

describe('NODE_ENV=production logs', () => {
  let t: TestApp;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    // Migrates the test database; the production process below serves it (MIGRATIONS_RUN decides nothing here).
    t = await startTestApp({ MIGRATIONS_RUN: 'auto' });
  });
  afterAll(async () => {
    if (server?.child.exitCode === null) server.child.kill('SIGKILL');
    await t.close();
  });

  // A server process compiles with ts-node first: slow on a shared 2-core machine, hence the longer timeout.
  it('are one JSON object per line from start to SIGTERM, with the request id on request lines and no colour codes', async () => {
    server = await startServerProcess(
      testEnv(t.database, {
        NODE_ENV: 'production',
        COOKIE_SECURE: 'false',
        MIGRATIONS_RUN: 'auto',
        LOG_LEVEL: 'debug',
        PUBLIC_BASE_URL: 'https://portal.clinic.test',
      }),
    );
    const { port } = JSON.parse(readFileSync(join(t.database.dataDir, SERVER_FILE), 'utf8')) as { port: number };
    const base = `http://127.0.0.1:${port}`;
    const missing = await fetch(`${base}/no-such-page?email=someone%40example.test`, { headers: { Accept: 'text/html' } });
    expect(missing.status).toBe(404);
    const requestId = missing.headers.get('x-request-id');
    expect(requestId).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(await missing.text()).toContain(`Reference: ${requestId}`);

    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    const output = server.output();
    expect(output).not.toMatch(/\x1b\[/);
    expect(output).not.toContain('someone@example.test');
    const raw = output.split('\n').filter((line) => line.trim() !== '');
    // Every line parses: nothing printed around the logger (a log shipper would choke on it).
    const lines = raw.map((line) => JSON.parse(line) as LogLine);
    for (const line of lines)
      expect(line).toEqual(expect.objectContaining({ level: expect.any(Number), msg: expect.any(String) }));
    expect(lines.every((line) => !Number.isNaN(Date.parse(line.time)))).toBe(true);

    // The setup link once, as its own field; the request line under the id the page showed; the last line is the stop.
    expect(lines.filter((line) => line.setupUrl?.startsWith('https://portal.clinic.test/setup?token='))).toHaveLength(1);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ reqId: requestId, msg: expect.stringMatching(/^GET \/no-such-page\?email=… 404/) }),
      ]),
    );
    expect(lines[lines.length - 1].msg).toMatch(/^Stopped in \d+ ms$/);
    // Route mapping lines exist only at debug (here: level 20), never at info.
    expect(lines.filter((line) => line.level >= 30 && /Mapped \{/.test(line.msg))).toEqual([]);
  }, 300_000);
});
