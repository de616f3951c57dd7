// `npm run bench` (after the build): Latchkey's benchmarks on the real
// embedded system, test/bench/ (see test/bench/README.md). Not part of npm test.
// Settings come from the environment (BENCH_ONLY, BENCH_MEMORY_SECONDS, ...);
// `npm run bench -- --quick` is a short smoke run of every scenario.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const entry = join(root, 'test/bench/dist/main.js');
if (!existsSync(entry)) {
  console.error('the benchmarks are not built: run npm run build first');
  process.exit(1);
}
const quick = process.argv.includes('--quick');
const env = quick
  ? {
      BENCH_DEPLOYS: '50',
      BENCH_WARMUP: '5',
      BENCH_REDEPLOYS: '5',
      BENCH_THROUGHPUT_DEPLOYS: '200',
      BENCH_MEMORY_SECONDS: '10',
      BENCH_SELECTOR_MANAGED: '500',
      BENCH_SELECTOR_VAULT: '500',
      BENCH_FANOUT: '100,1000',
      ...process.env,
    }
  : process.env;
const res = spawnSync(process.execPath, [entry], { cwd: root, stdio: 'inherit', env });
process.exit(res.status ?? 1);
