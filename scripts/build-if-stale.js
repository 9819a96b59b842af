// `npm start`: builds dist/ only when a source is newer than the last build (a warm start skips
// the ~15 s `nest build`). Compares modification times of everything the build reads.
const { execFileSync } = require('node:child_process');
const { readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
// nest build empties dist/ and rewrites every file, so the entry file's time is the build's time.
const entry = join(root, 'dist', 'src', 'main.js');
const inputs = ['src', 'migrations', 'tsconfig.json', 'tsconfig.build.json', 'nest-cli.json', 'package-lock.json'];

/** The newest modification time under a file or folder (ms). */
function newest(path) {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((max, name) => Math.max(max, newest(join(path, name))), stat.mtimeMs);
}

require('./copy-vendor');
const built = statSync(entry, { throwIfNoEntry: false })?.mtimeMs ?? 0;
const changed = Math.max(...inputs.map((input) => newest(join(root, input))));
if (changed > built) {
  process.stdout.write(built ? 'Sources changed since the last build: building…\n' : 'No build yet: building…\n');
  execFileSync(process.execPath, [require.resolve('@nestjs/cli/bin/nest.js'), 'build'], { cwd: root, stdio: 'inherit' });
}
