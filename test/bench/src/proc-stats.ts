/** What Linux's /proc says about the service processes `latchkey up` started. */
import { readdir, readFile } from 'node:fs/promises';

export const SERVICES = ['ras', 'catalog', 'resolver', 'deployer'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** The parent pid, from /proc/<pid>/stat (the field after the parenthesised command). */
export function parentPidOf(stat: string): number {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(rest[1]);
}

/** Which service a command line runs: `node …/services/<name>/dist/src/main.js`. */
export function serviceOfCommandLine(argv: readonly string[]): ServiceName | undefined {
  for (const arg of argv) {
    const m = /services\/(ras|catalog|resolver|deployer)\/dist\/src\/main\.js$/.exec(arg);
    if (m) return m[1] as ServiceName;
  }
  return undefined;
}

/** The service processes whose parent is `parentPid` (the `latchkey up` launcher), by service. */
export async function servicePids(parentPid: number): Promise<Map<ServiceName, number[]>> {
  const found = new Map<ServiceName, number[]>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (parentPidOf(await readFile(`/proc/${name}/stat`, 'utf8')) !== parentPid) continue;
      const argv = (await readFile(`/proc/${name}/cmdline`, 'utf8')).split('\0');
      const service = serviceOfCommandLine(argv);
      if (service) found.set(service, [...(found.get(service) ?? []), Number(name)]);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** VmRSS of a process in MiB, from /proc/<pid>/status. */
export async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) / 1024;
}

/** One variable of a process's environment (/proc/<pid>/environ; same user only). */
export async function environOf(pid: number, name: string): Promise<string | undefined> {
  const env = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
  const hit = env.find((e) => e.startsWith(`${name}=`));
  return hit?.slice(name.length + 1);
}

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** User + system CPU seconds a process used so far; 0 when it is gone. */
export async function cpuSeconds(pid: number): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat(5) are utime and stime; rest[0] is field 3.
    return (Number(rest[11]) + Number(rest[12])) / USER_HZ;
  } catch {
    return 0;
  }
}

/** Every descendant of `pid` (children, their children, ...), from /proc. */
export async function descendants(pid: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const ppid = parentPidOf(await readFile(`/proc/${name}/stat`, 'utf8'));
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of parents.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/** The command name of a process (/proc/<pid>/comm). */
export async function commandName(pid: number): Promise<string> {
  return (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim();
}
