import { join } from 'node:path';

/** The project root, whether running from src/ (ts-node, Jest) or from dist/src/ (nest build). */
export const ROOT_DIR = join(__dirname, __dirname.includes(join('dist', 'src')) ? '../../..' : '../..');

export const VIEWS_DIR = join(ROOT_DIR, 'views');
export const STATIC_DIR = join(ROOT_DIR, 'static');
