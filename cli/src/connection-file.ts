import { readFile, rm, writeFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { CliError } from './cli-errors.js';

/** `<home>/connection.json`: how clients find a running Latchkey. */
export interface ConnectionInfo {
  catalog: string;
  ras: string;
  resolver: string;
  deployer: string;
  credentialsFile: string;
  /** The local CA the services' certificates come from (clients trust it); empty in insecure mode. */
  caFile: string;
  /** The services listen in plaintext (latchkey up --insecure). */
  insecure: boolean;
  natsUrl: string;
  /** pid of the `latchkey up` process. */
  pid: number;
}

export function connectionFilePath(home: string): string {
  return path.join(home, 'connection.json');
}

export function notRunningMessage(home: string): string {
  return `Latchkey is not running here (no ${connectionFilePath(home)}): start it with npm start, or set LATCHKEY_HOME`;
}

export async function readConnectionFile(home: string): Promise<ConnectionInfo> {
  const file = connectionFilePath(home);
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CliError(notRunningMessage(home), { code: 'cli.not_running' });
    }
    throw new CliError(`cannot read ${file} (${(err as Error).message})`, { code: 'cli.connection_unreadable' });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  const p = parsed as Partial<Record<keyof ConnectionInfo, unknown>> | undefined;
  const str = (k: keyof ConnectionInfo): boolean => typeof p?.[k] === 'string' && p[k] !== '';
  if (!str('catalog') || !str('ras') || !str('resolver') || !str('deployer') || !str('credentialsFile')) {
    throw new CliError(`${file} is malformed: restart Latchkey (npm start) to rewrite it`, {
      code: 'cli.connection_malformed',
    });
  }
  const info = parsed as ConnectionInfo;
  return {
    ...info,
    natsUrl: typeof p?.natsUrl === 'string' ? p.natsUrl : '',
    caFile: typeof p?.caFile === 'string' ? p.caFile : '',
    insecure: p?.insecure === true,
    pid: typeof p?.pid === 'number' ? p.pid : 0,
  };
}

/** Written atomically (temp file + rename) so a client never sees half a file. */
export async function writeConnectionFile(home: string, info: ConnectionInfo): Promise<void> {
  const file = connectionFilePath(home);
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(info, null, 2) + '\n', { mode: 0o600 });
  await rename(tmp, file);
}

export async function removeConnectionFile(home: string): Promise<void> {
  await rm(connectionFilePath(home), { force: true });
}

export function isPidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
