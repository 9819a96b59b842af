import { readdirSync, readFileSync } from 'node:fs';

/** Fields of /proc/<pid>/stat after "pid (comm)" (comm may hold spaces): [state, ppid, …]; null when it is gone. */
export function procStat(pid: number | string): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** Pids of the live processes whose parent is `pid` (cluster workers of a primary). */
export function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name) && Number(procStat(name)?.[1]) === pid)
    .map(Number);
}
