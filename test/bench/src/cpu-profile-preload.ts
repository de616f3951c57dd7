/**
 * Loaded into every node process of the benchmarked system with
 * `NODE_OPTIONS=--import=<this file>` when BENCH_CPU_PROF is set. Node 20
 * refuses `--cpu-prof` in NODE_OPTIONS, so this starts V8's sampling profiler
 * through the in-process inspector instead and, when the process exits, writes
 * the profile where `--cpu-prof` would have, named as it names them
 * (`CPU.<date>.<time>.<pid>.0.001.cpuprofile`, the name `pidOfProfileFile` reads). The folder comes from
 * BENCH_CPU_PROF_OUT_DIR. A process killed with SIGKILL writes nothing. It
 * also counts each process's PostgreSQL statements (countStatements).
 */
import { Session } from 'node:inspector';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/**
 * Counts the statements a process sends to PostgreSQL (each one a round trip),
 * by their first words, and writes them at exit as `<dir>/PG.<pid>.json`.
 */
function countStatements(dir: string): void {
  let pg: { Client: { prototype: { query: (...args: unknown[]) => unknown } } };
  try {
    pg = createRequire(import.meta.url)('pg') as typeof pg;
  } catch {
    return;
  }
  const counts = new Map<string, number>();
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: unknown, ...args: unknown[]) {
    const first = args[0];
    const text = typeof first === 'string' ? first : ((first as { text?: string } | undefined)?.text ?? '?');
    const key = text.replace(/\s+/g, ' ').trim().slice(0, 72);
    counts.set(key, (counts.get(key) ?? 0) + 1);
    return query.apply(this, args);
  };
  process.once('exit', () => {
    if (counts.size === 0) return;
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `PG.${process.pid}.json`), JSON.stringify(Object.fromEntries(counts)));
  });
}

const dir = process.env['BENCH_CPU_PROF_OUT_DIR'];
if (dir) {
  countStatements(dir);
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
