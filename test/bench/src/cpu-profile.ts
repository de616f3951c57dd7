/**
 * Where a service's CPU went: V8 CPU profiles (`--cpu-prof`, written when a
 * process exits) of the services `latchkey up` started, summarised as self
 * time by package (a dependency under node_modules, node's own code, a
 * Latchkey workspace, the garbage collector) and by function. BENCH_CPU_PROF
 * names the folder: the benchmark hands `--cpu-prof --cpu-prof-dir=<folder>`
 * to every process of the system through NODE_OPTIONS and prints this
 * summary after the system stopped.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The parts of V8's `.cpuprofile` (the DevTools protocol's Profiler.Profile) read here. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Sampled time, ms (the process's whole life, idle included). */
  totalMs: number;
  /** Time not idle, ms. */
  busyMs: number;
  byPackage: { name: string; ms: number }[];
  byFunction: { name: string; where: string; ms: number }[];
}

/** What a frame's code belongs to: `pg`, `@grpc/grpc-js`, `node:internal`, `latchkey:services/catalog`, `(garbage collector)`. */
export function packageOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const parts = url.slice(nm + '/node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (url.startsWith('node:')) return 'node:internal';
  const ws = /\/((?:services|libs)\/[^/]+|cli)\/dist\//.exec(url);
  if (ws) return `latchkey:${ws[1]}`;
  return 'other';
}

export function summarizeCpuProfile(profile: CpuProfile, top = 12): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const selfUs = new Map<number, number>();
  let totalUs = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    totalUs += dt;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  });
  const pkgs = new Map<string, number>();
  const fns = new Map<string, { name: string; where: string; us: number }>();
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const f = byId.get(id);
    if (!f) continue;
    if (f.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const pkg = packageOf(f.url, f.functionName);
    pkgs.set(pkg, (pkgs.get(pkg) ?? 0) + us);
    const file = f.url.slice(f.url.lastIndexOf('/') + 1);
    const where = f.url === '' ? pkg : `${pkg} ${file}:${f.lineNumber + 1}`;
    const name = f.functionName || '(anonymous)';
    const key = `${name} ${where}`;
    const entry = fns.get(key) ?? { name, where, us: 0 };
    entry.us += us;
    fns.set(key, entry);
  }
  const ms = (us: number) => Math.round(us / 100) / 10;
  return {
    totalMs: ms(totalUs),
    busyMs: ms(totalUs - idleUs),
    byPackage: [...pkgs]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: ms(us) })),
    byFunction: [...fns.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, ms: ms(f.us) })),
  };
}

/** The pid in a profile's file name as node writes it: `CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile`. */
export function pidOfProfileFile(name: string): number | undefined {
  const m = /^CPU\.\d+\.\d+\.(\d+)\.\d+\.\d+\.cpuprofile$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** The PostgreSQL statements a process sent (the preload's count), most frequent first. */
async function statementLines(file: string, top = 8): Promise<string[]> {
  let counts: Record<string, number>;
  try {
    counts = JSON.parse(await readFile(file, 'utf8')) as Record<string, number>;
  } catch {
    return [];
  }
  const sorted = Object.entries(counts).sort((a, b) => b[1] - a[1]);
  const total = sorted.reduce((n, [, c]) => n + c, 0);
  return [
    `  PostgreSQL statements sent: ${total}`,
    ...sorted.slice(0, top).map(([text, c]) => `  ${String(c).padStart(8)}  ${text}`),
  ];
}

/** The summary of every profile in `dir` whose pid is one of `names` (pid -> process name), as lines. */
export async function profileReport(dir: string, names: ReadonlyMap<number, string>): Promise<string[]> {
  const lines: string[] = [];
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).sort();
  for (const file of files) {
    const pid = pidOfProfileFile(file);
    const who = pid === undefined ? undefined : names.get(pid);
    if (who === undefined) continue;
    const s = summarizeCpuProfile(JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile);
    const pct = (x: number) => `${((x / Math.max(s.busyMs, 1)) * 100).toFixed(1)}%`;
    lines.push(
      `${who} (pid ${pid}, ${file}): ${(s.busyMs / 1000).toFixed(1)} s busy of ${(s.totalMs / 1000).toFixed(1)} s`,
    );
    lines.push(`  by package: ${s.byPackage.map((p) => `${p.name} ${pct(p.ms)}`).join(', ')}`);
    for (const f of s.byFunction) lines.push(`  ${pct(f.ms).padStart(6)}  ${f.name}  (${f.where})`);
    lines.push(...(await statementLines(join(dir, `PG.${pid}.json`))));
  }
  if (lines.length === 0)
    lines.push(`no CPU profile of a service in ${dir} (they are written when a service exits cleanly)`);
  return lines;
}
