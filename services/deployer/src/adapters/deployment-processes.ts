/** The host processes of one deployment, found through Linux /proc by the environment the deployer gave them. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * True when process `pid` runs for this deployment (its environment says
 * so: Linux /proc), so that a pid reused by another process is never
 * signalled. False where that cannot be read. Sandboxed, the recorded pid
 * is bubblewrap's (outside the sandbox, with the workload's environment),
 * and ending it ends the whole sandbox.
 */
export async function runsDeployment(pid: number, deploymentId: string, procDir = '/proc'): Promise<boolean> {
  try {
    const environ = await readFile(join(procDir, String(pid), 'environ'), 'latin1');
    return environ.split('\0').includes(`LATCHKEY_DEPLOYMENT_ID=${deploymentId}`);
  } catch {
    return false;
  }
}

/** The parent pid in /proc/<pid>/stat (the field after the parenthesised command), or undefined. */
async function parentOf(pid: number, procDir: string): Promise<number | undefined> {
  try {
    const stat = await readFile(join(procDir, String(pid), 'stat'), 'latin1');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The topmost processes that run for `deploymentId`: those whose environment
 * names it and whose parent does not (bubblewrap and not the sandbox inside
 * it, the workload and not its children). For a deployment whose pid was
 * never recorded: the replica that started it died before it could write it.
 */
export async function processesOfDeployment(deploymentId: string, procDir = '/proc'): Promise<number[]> {
  const found = new Map<number, number | undefined>();
  for (const name of await readdir(procDir)) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (await runsDeployment(pid, deploymentId, procDir)) found.set(pid, await parentOf(pid, procDir));
  }
  return [...found]
    .filter(([, parent]) => parent === undefined || !found.has(parent))
    .map(([pid]) => pid)
    .sort((a, b) => a - b);
}
