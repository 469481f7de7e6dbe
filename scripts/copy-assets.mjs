// Copies files that tsc does not emit into dist/: the SQL migrations, which cloud/db/migrate.ts
// and edge/store/db.ts read at run time from ./migrations/ next to themselves, and the bundled
// simulator scenarios, which simulators/scenario.ts reads from ./scenarios/ next to itself.
// Run after `tsc -p tsconfig.build.json`; plain Node, no dependencies.
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const assets = [
  { from: 'cloud/db/migrations', to: 'dist/cloud/db/migrations', suffix: '.sql' },
  { from: 'edge/store/migrations', to: 'dist/edge/store/migrations', suffix: '.sql' },
  { from: 'simulators/scenarios', to: 'dist/simulators/scenarios', suffix: '.yaml' },
];

for (const { from, to, suffix } of assets) {
  const src = join(root, from);
  const dst = join(root, to);
  // Start clean so that a migration deleted from the source does not linger in dist/.
  rmSync(dst, { recursive: true, force: true });
  mkdirSync(dst, { recursive: true });
  const files = readdirSync(src).filter((f) => f.endsWith(suffix));
  for (const f of files) copyFileSync(join(src, f), join(dst, f));
  if (process.env.MILLWRIGHT_VERBOSE_BUILD) console.log(`copy-assets: ${files.length} ${suffix} file(s) ${from} -> ${to}`);
}
