/** Where CPU time goes during a measurement: each service, PostgreSQL, NATS, and this benchmark process. */
import { commandName, cpuSeconds, descendants } from './proc-stats.js';
import type { EmbeddedSystem } from './embedded-system.js';

export type CpuSnapshot = Record<string, number>;

export async function cpuSnapshot(sys: EmbeddedSystem): Promise<CpuSnapshot> {
  const snap: CpuSnapshot = {};
  for (const [svc, pid] of Object.entries(sys.pids)) snap[svc] = await cpuSeconds(pid);
  let postgres = 0;
  let nats = 0;
  for (const pid of await descendants(sys.launcherPid)) {
    const name = await commandName(pid);
    if (name === 'postgres') postgres += await cpuSeconds(pid);
    else if (name === 'nats-server') nats += await cpuSeconds(pid);
  }
  snap['postgres'] = postgres;
  snap['nats'] = nats;
  const own = process.cpuUsage();
  snap['bench'] = (own.user + own.system) / 1e6;
  return snap;
}

/** CPU milliseconds per unit of work between two snapshots, e.g. `resolver 12.3, postgres 8.1, ...`. */
export function cpuPerUnit(before: CpuSnapshot, after: CpuSnapshot, units: number): string {
  return Object.keys(after)
    .map((k) => `${k} ${(((after[k]! - (before[k] ?? 0)) * 1000) / units).toFixed(1)}`)
    .join(', ');
}
