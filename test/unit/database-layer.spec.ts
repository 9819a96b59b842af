import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// architecture.json: "the data layer knows no feature" — entities and migrations come in from src/app.schema.ts.
describe('src/database/', () => {
  it('imports nothing but its own files, configuration and libraries', () => {
    const dir = join(__dirname, '../../src/database');
    const imports = readdirSync(dir)
      .filter((file) => file.endsWith('.ts'))
      .flatMap((file) =>
        [...readFileSync(join(dir, file), 'utf8').matchAll(/from '([^']+)'/g)].map((m) => ({ file, from: m[1] })),
      );
    expect(imports.length).toBeGreaterThan(5);
    const outside = imports.filter(
      ({ from }) => from.startsWith('.') && !from.startsWith('./') && from !== '../config/app-config',
    );
    expect(outside).toEqual([]);
  });
});
