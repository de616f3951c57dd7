/**
 * Loaded into every node process of the benchmarked system with
 * `NODE_OPTIONS=--import=<this file>` when BENCH_CPU_PROF is set. Node 20
 * refuses `--cpu-prof` in NODE_OPTIONS, so this starts V8's sampling profiler
 * through the in-process inspector instead and, when the process exits, writes
 * the profile where `--cpu-prof` would have, named as it names them
 * (`CPU.<date>.<time>.<pid>.0.001.cpuprofile`, the name `pidOfProfileFile` reads). The folder comes from
 * BENCH_CPU_PROF_OUT_DIR. A process killed with SIGKILL writes nothing.
 */
import { Session } from 'node:inspector';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env['BENCH_CPU_PROF_OUT_DIR'];
if (dir) {
  const session = new Session();
  session.connect();
  // The main thread's session answers synchronously: each callback has run when post() returns.
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  process.once('exit', () => {
    session.post('Profiler.stop', (err, result) => {
      if (err) return;
      const now = new Date().toISOString().replace(/[-:]/g, '');
      const name = `CPU.${now.slice(0, 8)}.${now.slice(9, 15)}.${process.pid}.0.001.cpuprofile`;
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, name), JSON.stringify(result.profile));
    });
  });
}
