// `npm run admin:create|backup|restore -- …`: the compiled script when dist/ is up to date (no TypeScript to
// transpile: about 2.5 s of CPU instead of about 11 s), else the TypeScript source through ts-node. Never builds:
// `nest build` empties dist/ under a server that may be running from it.
const { join } = require('node:path');
const { buildNeeded } = require('./build-if-stale');

const [name, ...args] = process.argv.slice(2);
if (!/^[a-z][a-z-]*$/.test(name ?? '')) {
  console.error('usage: node scripts/run-cli.js <script in src/cli> [arguments]');
  process.exit(2);
}
const root = join(__dirname, '..');
const compiled = buildNeeded(root) === null;
if (!compiled) require('ts-node/register/transpile-only');
const script = compiled ? join(root, 'dist', 'src', 'cli', `${name}.js`) : join(root, 'src', 'cli', `${name}.ts`);
// The scripts read their own arguments from process.argv.slice(2), as if run directly.
process.argv = [process.argv[0], script, ...args];
require(script);
