// Runs every compiled test file with node's test runner: unit tests beside
// the code (libs, services, cli) and the cross-service tests under test/.
// Real nats-server and PostgreSQL are started by the tests themselves, but
// for the component tests (services' test/ folders) this starts one
// PostgreSQL for the whole run and hands it to them (libs/testing's
// SHARED_POSTGRES_ENV): each test still takes a fresh database of its own,
// and the run is spared a cluster start (about 2.5 s of CPU) per test file.
//   node scripts/run-tests.mjs [substring]   from the root: every workspace's tests (npm test)
//   npm test -w services/deployer            from a workspace: that workspace's tests only
//                                            (what `npm run test:workspace` runs through turbo)
// One node --test run at --test-concurrency=2: the suites are sized for a
// 2-core machine, so never run two of these at once.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
// test/ first: its files boot whole systems and are the longest; run first, they
// do not leave one of the two slots working alone at the end while the other idles
// (the many short unit-test files fill the last minutes instead).
const roots = ['test', 'libs', 'services', 'cli'];
const files = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules') continue;
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) walk(p);
    else if (name.endsWith('.test.js') && p.includes('/dist/')) files.push(relative(root, p));
  }
}
for (const r of roots) walk(join(root, r));
const workspace = relative(root, process.cwd());
const inWorkspace =
  workspace && !workspace.startsWith('..') ? files.filter((f) => f.startsWith(`${workspace}/`)) : files;
const filter = process.argv[2];
const selected = filter ? inWorkspace.filter((f) => f.includes(filter)) : inWorkspace;
if (selected.length === 0) {
  console.error('no test files found: run npm run build first');
  process.exit(1);
}
// Started here only when a component test runs (and not when a caller already handed one down).
const usesSharedPostgres = selected.some((f) => f.includes('/dist/test/'));
let shared;
if (usesSharedPostgres) {
  const { SHARED_POSTGRES_ENV, startSharedTestPostgres } = await import('@latchkey/testing');
  if (!process.env[SHARED_POSTGRES_ENV]) shared = await startSharedTestPostgres();
}
// Spawned, not spawnSync: this process keeps reading the shared PostgreSQL's output while the tests run.
const child = spawn(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=600000', ...selected], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, ...shared?.env },
});
// Ctrl-C reaches the test runner too (same process group): wait for it, then stop PostgreSQL.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => child.kill('SIGTERM'));
const status = await new Promise((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
await shared?.stop();
process.exit(status);
