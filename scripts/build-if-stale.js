// `npm start`: builds dist/ only when a source is newer than the last build (a warm start skips
// the ~15 s `nest build`). Compares modification times of everything the build reads.
const { execFileSync } = require('node:child_process');
const { readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');

// nest build empties dist/ and rewrites every file, so the entry file's time is the build's time.
const ENTRY = join('dist', 'src', 'main.js');
const INPUTS = ['src', 'migrations', 'tsconfig.json', 'tsconfig.build.json', 'nest-cli.json', 'package-lock.json'];

/** The newest modification time under a file or folder (ms). */
function newest(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((max, name) => Math.max(max, newest(join(path, name))), stat.mtimeMs);
}

/** Why `root` needs a build ('missing' or 'changed'), or null when dist/ is up to date. */
function buildNeeded(root) {
  const built = statSync(join(root, ENTRY), { throwIfNoEntry: false })?.mtimeMs ?? 0;
  if (!built) return 'missing';
  const changed = Math.max(...INPUTS.map((input) => newest(join(root, input))));
  return changed > built ? 'changed' : null;
}

module.exports = { buildNeeded };

if (require.main === module) {
  const root = join(__dirname, '..');
  require('./copy-vendor');
  const reason = buildNeeded(root);
  if (reason) {
    process.stdout.write(
      reason === 'missing' ? 'No build yet: building…\n' : 'Sources changed since the last build: building…\n',
    );
    execFileSync(process.execPath, [require.resolve('@nestjs/cli/bin/nest.js'), 'build'], { cwd: root, stdio: 'inherit' });
  }
}
