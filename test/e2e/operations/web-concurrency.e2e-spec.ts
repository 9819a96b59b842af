import { createServer } from 'node:net';
import { childrenOf } from '../../support/proc';
import { startServerProcess, type ServerProcess } from '../../support/server-process';
import { startTestApp, testEnv, TestApp } from '../../support/test-app';

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

const until = async (check: () => boolean, ms = 60_000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

/** WEB_CONCURRENCY=N: N node:cluster workers share the port; one that dies is replaced; SIGTERM stops them all. */
describe('WEB_CONCURRENCY', () => {
  let t: TestApp;
  let server: ServerProcess;
  let base: string;

  beforeAll(async () => {
    t = await startTestApp();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = await startServerProcess(
      testEnv(t.database, { WEB_CONCURRENCY: '2', PORT: String(port), PUBLIC_BASE_URL: base, LOG_LEVEL: 'info' }),
    );
    // Two workers compile through ts-node at once: minutes on a shared 2-core machine.
  }, 300_000);
  afterAll(async () => {
    if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
    await t.close();
  });

  it('starts two workers that serve the same port, replaces one that dies, and stops all on SIGTERM', async () => {
    const primary = server.child.pid!;
    const workers = childrenOf(primary);
    expect(workers).toHaveLength(2);
    expect(server.output()).toContain('2 workers serving (WEB_CONCURRENCY=2)');
    // The setup link (no staff yet) is printed once, by worker 1, not once per worker.
    expect(
      server
        .output()
        .split('\n')
        .filter((line) => line.includes('/setup?token=')),
    ).toHaveLength(1);
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${base}/login`, { headers: { connection: 'close' } });
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('<form');
    }

    process.kill(workers[1], 'SIGKILL');
    await until(() => {
      const now = childrenOf(primary);
      return now.length === 2 && !now.includes(workers[1]);
    });
    await until(() => server.output().includes('starting another'));
    // The replacement listens once it is ready; the other worker serves meanwhile.
    for (let i = 0; i < 5; i++) expect((await fetch(`${base}/healthz`, { headers: { connection: 'close' } })).status).toBe(200);

    const running = childrenOf(primary);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(running.filter(existsProcess)).toEqual([]);
  });
});

function existsProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
