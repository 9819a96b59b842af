import { execFile } from 'node:child_process';
import { join } from 'node:path';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one of src/cli/*.ts as `npm run …` would (ts-node), with exactly this environment added. */
export function runCliScript(
  script: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 180_000,
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', join(__dirname, '../../src/cli', script), ...args],
      { env: { ...process.env, ...env }, cwd: join(__dirname, '../..'), timeout: timeoutMs },
      (error, stdout, stderr) => {
        // Killed at the timeout: say so, rather than pass for an exit code 1 with nothing on stderr.
        const killed = error && (error as { killed?: boolean }).killed ? `\n[killed after ${timeoutMs} ms]` : '';
        resolve({ code: error ? ((error as { code?: number | null }).code ?? 1) : 0, stdout, stderr: stderr + killed });
      },
    );
  });
}
