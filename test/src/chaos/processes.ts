import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { clusterDir } from '../system-harness.js';

/** Every process's pid, with its environment and command line, read from /proc (one pass). */
async function processes(): Promise<{ pid: number; env: string[]; cmd: string[] }[]> {
  const out: { pid: number; env: string[]; cmd: string[] }[] = [];
  for (const p of await readdir('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const env = await readFile(`/proc/${p}/environ`, 'latin1').catch(() => '');
    if (env === '') continue;
    const cmd = await readFile(`/proc/${p}/cmdline`, 'latin1').catch(() => '');
    out.push({ pid: Number(p), env: env.split('\0'), cmd: cmd.split('\0') });
  }
  return out;
}

/** pids of the nats-server processes of the system on `home` (`name`: only the node started with that `-n`). */
export async function natsPids(home: string, name?: string): Promise<number[]> {
  return (await processes())
    .filter(
      (p) =>
        p.env.includes(`LATCHKEY_HOME=${home}`) &&
        p.cmd[0]?.endsWith('nats-server') === true &&
        (name === undefined || p.cmd.includes(name)),
    )
    .map((p) => p.pid);
}

/** pid of the nats-server node named `name` (its `-n` argument) of the system on `home`. */
export async function natsNodePid(home: string, name: string): Promise<number> {
  const [pid] = await natsPids(home, name);
  if (pid === undefined) throw new Error(`no nats-server node ${name} of ${home}`);
  return pid;
}

/** pid of service replica `id` (`deployer-2`): a service process with that LATCHKEY_REPLICA_ID. */
export async function replicaPid(home: string, id: string): Promise<number> {
  const service = id.replace(/-\d+$/, '');
  const found = (await processes()).find(
    (p) =>
      p.env.includes(`LATCHKEY_HOME=${home}`) &&
      p.env.includes(`LATCHKEY_REPLICA_ID=${id}`) &&
      p.cmd.join(' ').includes(`services/${service}/dist/src/main.js`),
  );
  if (found === undefined) throw new Error(`no process of ${home} is replica ${id}`);
  return found.pid;
}

/** pid of the PostgreSQL postmaster of the system on `home` (the first line of its postmaster.pid). */
export async function postgresPid(home: string): Promise<number> {
  const text = await readFile(join(clusterDir(home), 'postmaster.pid'), 'utf8');
  const pid = Number.parseInt(text.split('\n')[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no PostgreSQL pid in ${clusterDir(home)}/postmaster.pid`);
  return pid;
}

/**
 * The deployments whose processes are alive now, by the LATCHKEY_DEPLOYMENT_ID
 * in their environment (a sandbox's bubblewrap and the workload in it both carry it).
 */
export async function liveDeployments(): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const p of await readdir('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const env = await readFile(`/proc/${p}/environ`, 'latin1').catch(() => '');
    const at = env.indexOf('LATCHKEY_DEPLOYMENT_ID=');
    if (at < 0) continue;
    const end = env.indexOf('\0', at);
    ids.add(env.slice(at + 'LATCHKEY_DEPLOYMENT_ID='.length, end < 0 ? undefined : end));
  }
  return ids;
}
