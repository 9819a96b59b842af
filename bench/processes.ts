import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..');
const children = new Set<ChildProcess>();

/** Runs a command to completion (build, CLIs); its output is returned, a non-zero exit throws with the tail. */
export function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      children.delete(child);
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output.slice(-2000)}`));
    });
  });
}

/** A TypeScript CLI of the app (src/cli/*), run with ts-node like `npm run …` does. */
export function runCli(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return run(process.execPath, ['-r', 'ts-node/register/transpile-only', script, ...args], env);
}

export interface AppProcess {
  pid: number;
  baseUrl: string;
  /** Peak resident set size so far (VmHWM), in MB. */
  peakRssMb(): number;
  /** Resident set size now (VmRSS), in MB. */
  rssMb(): number;
  /** The last lines the app printed (for a failure report). */
  logTail(): string;
  stop(): Promise<void>;
}

/** The arguments of `npm run start:prod` (node flags and the entry file): the bench runs the app as production does. */
function startProdArgs(): string[] {
  const script = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts[
    'start:prod'
  ];
  return script.split(/\s+/).slice(1);
}

/** Starts the built app like `npm run start:prod`, as its own process, and waits until /healthz answers. */
export async function startApp(env: NodeJS.ProcessEnv, port: number): Promise<AppProcess> {
  const child = spawn(process.execPath, startProdArgs(), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let log = '';
  const keep = (chunk: Buffer) => (log = (log + chunk.toString()).slice(-8000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`The app exited during start-up:\n${log}`);
    try {
      if ((await fetch(`${baseUrl}/healthz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`The app did not answer /healthz within 60 s:\n${log}`);
    await sleep(200);
  }
  return {
    pid: child.pid!,
    baseUrl,
    peakRssMb: () => statusKb(child.pid!, 'VmHWM') / 1024,
    rssMb: () => statusKb(child.pid!, 'VmRSS') / 1024,
    logTail: () => log,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      children.delete(child);
    },
  };
}

export function track(child: ChildProcess): void {
  children.add(child);
  child.on('exit', () => children.delete(child));
}

/** Kills whatever the bench started and is still running (an error half-way, Ctrl-C). */
export function killChildren(): void {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  children.clear();
}

function statusKb(pid: number, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) : 0;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
