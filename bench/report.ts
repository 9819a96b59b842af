import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './processes';

export interface Row {
  size: string;
  measurement: string;
  count: string;
  app50: string;
  app95: string;
  raw50: string;
  raw95: string;
  ratio: string;
  target: string;
  met: boolean | null;
}

const HEADER = ['Size', 'Measurement', 'Count', 'App p50', 'App p95', 'Raw p50', 'Raw p95', 'App/raw', 'Target', 'Met'];

export const ms = (value: number) =>
  value >= 100 ? `${Math.round(value).toLocaleString('en-US')} ms` : `${value.toFixed(1)} ms`;
export const num = (value: number) => Math.round(value).toLocaleString('en-US');

export function table(rows: Row[]): string {
  const cells = rows.map((r) => [
    r.size,
    r.measurement,
    r.count,
    r.app50,
    r.app95,
    r.raw50,
    r.raw95,
    r.ratio,
    r.target,
    r.met === null ? '' : r.met ? 'yes' : '**NO**',
  ]);
  return [
    `| ${HEADER.join(' | ')} |`,
    `|${HEADER.map(() => '---').join('|')}|`,
    ...cells.map((c) => `| ${c.join(' | ')} |`),
  ].join('\n');
}

function version(pkg: string): string {
  return JSON.parse(readFileSync(join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version;
}

export function machine(database: string): string[] {
  const cores = cpus();
  return [
    `- Machine: ${cores.length} cores (${cores[0]?.model.trim() ?? 'unknown CPU'}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB memory, ${process.platform} ${process.arch}`,
    `- Database: ${database}`,
    `- Node ${process.version}; ${['@nestjs/core', 'typeorm', 'mysql2', 'nunjucks', 'nodemailer', 'smtp-server', 'autocannon'].map((p) => `${p} ${version(p)}`).join(', ')}`,
    `- Date: ${new Date().toISOString().replace('T', ' ').slice(0, 16)} UTC`,
  ];
}
