import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { clusterDir, systemProcesses } from '../system-harness.js';

/** pids of the nats-server processes of the system on `home` (`name`: only the node started with that `-n`). */
export async function natsPids(home: string, name?: string): Promise<number[]> {
  return (await systemProcesses(home))
    .filter((p) => p.cmd[0]?.endsWith('nats-server') === true && (name === undefined || p.cmd.includes(name)))
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
  const found = (await systemProcesses(home)).find(
    (p) =>
      p.env.includes(`LATCHKEY_REPLICA_ID=${id}`) && p.cmd.join(' ').includes(`services/${service}/dist/src/main.js`),
  );
  if (found === undefined) throw new Error(`no process of ${home} is replica ${id}`);
  return found.pid;
}

/**
 * pid of the running PostgreSQL postmaster of the system on `home` (the first line of its postmaster.pid);
 * a rejection when there is none or it is not running.
 */
export async function postgresPid(home: string): Promise<number> {
  const text = await readFile(join(clusterDir(home), 'postmaster.pid'), 'utf8');
  const pid = Number.parseInt(text.split('\n')[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no PostgreSQL pid in ${clusterDir(home)}/postmaster.pid`);
  process.kill(pid, 0);
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
