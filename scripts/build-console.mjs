// Builds the web console (services/gateway/console) into its dist/, which the
// gateway serves at /console/: a type check of the SPA, then Vite's build.
// Skipped when the built bundle is newer than every source file. Prints one
// line. `npm start` and `npm test` run it; so does the browser tests' setup.
//   node scripts/build-console.mjs [--force]
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = new URL('..', import.meta.url).pathname;
const dir = join(root, 'services/gateway/console');
const built = join(dir, 'dist/index.html');
const shown = relative(process.cwd(), join(dir, 'dist')) || '.';

/** The newest modification time among the console's sources. */
function newestSource() {
  let newest = 0;
  const visit = (p) => {
    const st = statSync(p);
    if (st.isDirectory()) for (const name of readdirSync(p)) visit(join(p, name));
    else newest = Math.max(newest, st.mtimeMs);
  };
  for (const name of ['index.html', 'vite.config.mjs', 'package.json', 'tsconfig.json', 'src']) {
    if (existsSync(join(dir, name))) visit(join(dir, name));
  }
  return newest;
}

if (!process.argv.includes('--force') && existsSync(built) && statSync(built).mtimeMs >= newestSource()) {
  console.log(`console: ${shown} is up to date`);
  process.exit(0);
}

const started = Date.now();
const require = createRequire(join(dir, 'package.json'));
const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], {
  cwd: dir,
  encoding: 'utf8',
});
if (tsc.status !== 0) {
  console.error(`console: the type check failed (fix services/gateway/console/src):\n${tsc.stdout}${tsc.stderr}`);
  process.exit(1);
}
const { build } = await import(pathToFileURL(require.resolve('vite')).href);
try {
  await build({ configFile: join(dir, 'vite.config.mjs'), root: dir, logLevel: 'warn' });
} catch (e) {
  console.error(`console: vite build failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
console.log(`console: built ${shown} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
