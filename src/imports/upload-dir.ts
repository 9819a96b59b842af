import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AppConfig } from '../config/app-config';

/** Uploads go to a private folder under DATA_DIR (never a served path) and are deleted after the import. */
export function uploadDir(config: AppConfig): string {
  const dir = join(config.dataDir, 'imports');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}
