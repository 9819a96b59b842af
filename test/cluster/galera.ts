import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection, type Connection } from 'mysql2/promise';

/** One mariadbd of the test cluster. */
export interface GaleraNode {
  index: number;
  /** SQL port on 127.0.0.1. */
  port: number;
  dir: string;
  process: ChildProcess | null;
  kill(): void;
}

export interface GaleraCluster {
  nodes: GaleraNode[];
  root: string;
  /** A connection to a node as the app's user. */
  connect(node: GaleraNode, database?: string): Promise<Connection>;
  user: string;
  password: string;
  stop(): Promise<void>;
}

const PROVIDER = '/usr/lib/galera/libgalera_smm.so';

/**
 * Ports of one cluster, from a base chosen per run: SQL 0..2, group communication 10..12,
 * IST 20..22, SST 30..32 above it. Never 3306: the machine's own MariaDB serves other tests.
 */
export function clusterPorts(base: number) {
  return [0, 1, 2].map((i) => ({ sql: base + i, group: base + 10 + i, ist: base + 20 + i, sst: base + 30 + i }));
}

function myCnf(dir: string, ports: ReturnType<typeof clusterPorts>, i: number): string {
  const p = ports[i];
  return `[mariadbd]
datadir=${dir}/data
port=${p.sql}
socket=${dir}/mysqld.sock
pid-file=${dir}/mysqld.pid
log-error=${dir}/error.log
bind-address=127.0.0.1
skip-name-resolve
binlog_format=ROW
default_storage_engine=InnoDB
innodb_autoinc_lock_mode=2
innodb_buffer_pool_size=64M
innodb_log_file_size=32M
innodb_flush_log_at_trx_commit=2
performance_schema=OFF
max_connections=300
wsrep_on=ON
wsrep_provider=${PROVIDER}
wsrep_cluster_name=ppo_test
wsrep_cluster_address=gcomm://${ports.map((q) => `127.0.0.1:${q.group}`).join(',')}
wsrep_node_address=127.0.0.1:${p.group}
wsrep_node_name=node${i + 1}
wsrep_provider_options="gmcast.listen_addr=tcp://127.0.0.1:${p.group};ist.recv_addr=127.0.0.1:${p.ist};gcache.size=32M;evs.suspect_timeout=PT3S;evs.inactive_timeout=PT6S;evs.install_timeout=PT6S"
wsrep_sst_method=rsync
wsrep_sst_receive_address=127.0.0.1:${p.sst}
wsrep_slave_threads=2
`;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | null>, log: () => string): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await probe();
      if (value !== null) return value;
    } catch {
      // not yet
    }
    if (Date.now() > until) throw new Error(`${what} did not happen within ${timeoutMs} ms\n${log()}`);
    await sleep(300);
  }
}

/**
 * A 3-node MariaDB Galera cluster on loopback, in its own temp folder (see STACK-NOTES.md):
 * nodes run as `mysql` (rsync state transfer needs it), the first bootstraps the cluster,
 * the others join it with a full state transfer.
 */
export async function startGaleraCluster(base: number): Promise<GaleraCluster> {
  const root = mkdtempSync(join(tmpdir(), 'ppo-galera-'));
  chmodSync(root, 0o755);
  const ports = clusterPorts(base);
  const user = 'ppo';
  const password = 'cluster-test-password';
  const nodes: GaleraNode[] = ports.map((p, i) => {
    const dir = join(root, `node${i + 1}`);
    const node: GaleraNode = {
      index: i,
      port: p.sql,
      dir,
      process: null,
      kill: () => {
        if (node.process && node.process.exitCode === null && node.process.signalCode === null) node.process.kill('SIGKILL');
      },
    };
    return node;
  });
  const errorLog = (node: GaleraNode) => {
    try {
      return execFileSync('tail', ['-n', '30', join(node.dir, 'error.log')], { encoding: 'utf8' });
    } catch {
      return '(no error log)';
    }
  };
  const startNode = (node: GaleraNode, bootstrap: boolean) => {
    node.process = spawn(
      '/usr/sbin/mariadbd',
      [`--defaults-file=${node.dir}/my.cnf`, '--user=mysql', ...(bootstrap ? ['--wsrep-new-cluster'] : [])],
      { stdio: 'ignore' },
    );
  };
  const connectRoot = (node: GaleraNode) => createConnection({ socketPath: join(node.dir, 'mysqld.sock'), user: 'root' });
  const clusterSize = async (node: GaleraNode) => {
    const conn = await connectRoot(node);
    try {
      const [rows] = await conn.query("SHOW STATUS LIKE 'wsrep_cluster_size'");
      return Number((rows as Array<{ Value: string }>)[0]?.Value ?? 0);
    } finally {
      await conn.end();
    }
  };

  const cluster: GaleraCluster = {
    nodes,
    root,
    user,
    password,
    connect: (node, database) => createConnection({ host: '127.0.0.1', port: node.port, user, password, database }),
    stop: async () => {
      for (const node of nodes) node.kill();
      await Promise.all(
        nodes.map((node) =>
          node.process && node.process.exitCode === null && node.process.signalCode === null
            ? new Promise((r) => node.process!.once('exit', r))
            : null,
        ),
      );
      rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    for (const [i, node] of nodes.entries()) {
      mkdirSync(join(node.dir, 'data'), { recursive: true });
      writeFileSync(join(node.dir, 'my.cnf'), myCnf(node.dir, ports, i));
      execFileSync('chown', ['-R', 'mysql:mysql', node.dir]);
    }
    // Only the first node is initialised: the others receive its data by state transfer.
    execFileSync(
      'mariadb-install-db',
      [
        '--no-defaults',
        '--user=mysql',
        `--datadir=${nodes[0].dir}/data`,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
      ],
      { stdio: 'ignore' },
    );
    startNode(nodes[0], true);
    await waitFor(
      'node 1 bootstrap',
      60_000,
      async () => ((await clusterSize(nodes[0])) >= 1 ? true : null),
      () => errorLog(nodes[0]),
    );
    const admin = await connectRoot(nodes[0]);
    await admin.query(`CREATE USER '${user}'@'127.0.0.1' IDENTIFIED BY '${password}'`);
    await admin.query(`GRANT ALL ON *.* TO '${user}'@'127.0.0.1'`);
    await admin.end();
    // Joiners one at a time: two full state transfers at once from one donor are slow on 2 cores.
    for (const node of nodes.slice(1)) {
      startNode(node, false);
      await waitFor(
        `node ${node.index + 1} joining`,
        90_000,
        async () => {
          const conn = await connectRoot(node);
          try {
            const [rows] = await conn.query("SHOW STATUS LIKE 'wsrep_local_state_comment'");
            return (rows as Array<{ Value: string }>)[0]?.Value === 'Synced' ? true : null;
          } finally {
            await conn.end();
          }
        },
        () => errorLog(node),
      );
    }
    await waitFor(
      'cluster of 3',
      30_000,
      async () => ((await clusterSize(nodes[2])) === 3 ? true : null),
      () => errorLog(nodes[2]),
    );
    return cluster;
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}
