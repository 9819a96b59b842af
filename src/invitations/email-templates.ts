import nunjucks from 'nunjucks';
import { join } from 'node:path';
import { VIEWS_DIR } from '../common/paths';

/**
 * Nunjucks environments for emails (views/emails): HTML escapes, the plain-text part
 * does not. One loader each: a loader caches templates compiled for its environment.
 */
export function emailEnvironments(): { html: nunjucks.Environment; text: nunjucks.Environment } {
  const loader = () => new nunjucks.FileSystemLoader(join(VIEWS_DIR, 'emails'));
  return {
    html: new nunjucks.Environment(loader(), { autoescape: true, throwOnUndefined: true }),
    text: new nunjucks.Environment(loader(), { autoescape: false, throwOnUndefined: true }),
  };
}
