import { readFile, rm, writeFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { CliError } from '../output/cli-errors.js';
import { resolveHome } from './data-folder.js';
import { readPrivateFile } from './private-file.js';

/** `<home>/connection.json`: how clients find a running Latchkey. */
export interface ConnectionInfo {
  catalog: string;
  ras: string;
  resolver: string;
  deployer: string;
  credentialsFile: string;
  /** The local CA the services' certificates come from (clients trust it); empty in insecure mode. */
  caFile: string;
  /**
   * The services listen in plaintext (latchkey up --insecure). Informative only: the
   * CLI connects in plaintext only when told so by LATCHKEY_INSECURE=1, never because a file says so.
   */
  insecure: boolean;
  natsUrl: string;
  /** The first gateway replica's base URL (`https://127.0.0.1:PORT`): the HTTP API and the console. */
  gateway?: string;
  /** pid of the `latchkey up` process. */
  pid: number;
  /** Every replica's Prometheus listener (`GET http://ADDRESS/metrics`), as `latchkey up` started them. */
  metrics?: MetricsTarget[];
}

/** One replica's metrics listener. */
export interface MetricsTarget {
  service: string;
  /** The replica id (`catalog-1`). */
  replica: string;
  /** host:port of its `/metrics`. */
  address: string;
}

const isMetricsTarget = (t: unknown): t is MetricsTarget => {
  const m = t as Partial<Record<keyof MetricsTarget, unknown>> | null;
  return (
    typeof m === 'object' &&
    m !== null &&
    typeof m.service === 'string' &&
    typeof m.replica === 'string' &&
    typeof m.address === 'string'
  );
};

export function connectionFilePath(home: string): string {
  return path.join(home, 'connection.json');
}

export function notRunningMessage(home: string): string {
  return `Latchkey is not running here (no ${connectionFilePath(home)}): start it with npm start, or set LATCHKEY_HOME`;
}

/** Where the CLI looks for the connection file, and whether the user named it. */
export interface ConnectionLocation {
  file: string;
  /** Named by LATCHKEY_CONNECTION: used even when not 0600 (the user chose it), never for plaintext. */
  explicit: boolean;
}

/** LATCHKEY_CONNECTION when set, else `<data folder>/connection.json` (LATCHKEY_HOME or ./.latchkey). */
export function locateConnection(env: NodeJS.ProcessEnv, cwd: string): ConnectionLocation {
  const named = env['LATCHKEY_CONNECTION'];
  if (named !== undefined && named !== '') return { file: path.resolve(cwd, named), explicit: true };
  return { file: connectionFilePath(resolveHome(env, cwd)), explicit: false };
}

const FOUND_FIX =
  'If Latchkey runs as you, fix it with chmod 600 (and chown) or restart it (npm start) to rewrite the file; otherwise name the file you trust with LATCHKEY_CONNECTION=FILE, or set LATCHKEY_HOME to your data folder';

/**
 * The connection file of a data folder (`home`) or at a location. One found
 * in a data folder is used only when it is yours with mode 0600 (see
 * readPrivateFile); one named with LATCHKEY_CONNECTION is read as it is.
 */
export async function readConnectionFile(where: string | ConnectionLocation): Promise<ConnectionInfo> {
  const loc = typeof where === 'string' ? { file: connectionFilePath(where), explicit: false } : where;
  const { file } = loc;
  const missing = () =>
    new CliError(
      loc.explicit
        ? `no connection file ${file} (named by LATCHKEY_CONNECTION): give the connection.json of a running Latchkey`
        : notRunningMessage(path.dirname(file)),
      { code: 'cli.not_running' },
    );
  let raw: string;
  if (loc.explicit) {
    try {
      raw = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw missing();
      throw new CliError(`cannot read ${file} (${(err as Error).message})`, { code: 'cli.connection_unreadable' });
    }
  } else {
    const read = await readPrivateFile(file, 'the connection file', FOUND_FIX);
    if (read === undefined) throw missing();
    raw = read.text;
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
  const { gateway, metrics, ...info } = parsed as ConnectionInfo;
  return {
    ...info,
    ...(typeof gateway === 'string' && gateway !== '' ? { gateway } : {}),
    ...(Array.isArray(metrics) ? { metrics: metrics.filter(isMetricsTarget) } : {}),
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
