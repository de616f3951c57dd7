import { spawn } from 'node:child_process';
import { constants as fsConstants, existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InfraError } from './infra-errors.js';
import { acquireFileLock } from './install-lock.js';
import { forEachLine } from './line-splitter.js';

export interface EnsureNatsServerBinaryOptions {
  /** Install with apt-get when missing (only as root on Debian/Ubuntu). Default true. */
  allowInstall?: boolean;
  log?: (line: string) => void;
}

const BINARY = 'nats-server';
const MISSING_MESSAGE =
  'nats-server is not installed: install it (Debian/Ubuntu: sudo apt-get install nats-server) or point LATCHKEY_NATS_URL at a running NATS server';

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) return false;
    await fs.access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function findOnPath(name: string): Promise<string | undefined> {
  const dirs = (process.env['PATH'] ?? '').split(path.delimiter).filter((d) => d !== '');
  for (const dir of [...dirs, '/usr/sbin', '/usr/bin', '/usr/local/bin', '/sbin', '/bin']) {
    const candidate = path.resolve(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

async function locateNatsServer(): Promise<string | undefined> {
  const fromEnv = process.env['LATCHKEY_NATS_SERVER_BIN'];
  if (fromEnv !== undefined && fromEnv !== '') {
    const resolved = path.resolve(fromEnv);
    if (await isExecutableFile(resolved)) return resolved;
    throw new InfraError(
      'infra.binary_missing',
      `LATCHKEY_NATS_SERVER_BIN points at ${resolved}, which is not an executable file: fix the path or unset it`,
    );
  }
  return findOnPath(BINARY);
}

function run(
  command: string,
  args: string[],
  log: (line: string) => void,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    let output = '';
    const onLine = (line: string): void => {
      output += `${line}\n`;
      if (line.trim() !== '') log(line);
    };
    forEachLine(child.stdout, onLine);
    forEachLine(child.stderr, onLine);
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

function lastLines(text: string, n = 5): string {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .slice(-n)
    .join(' | ');
}

async function aptInstall(log: (line: string) => void): Promise<void> {
  const installArgs = ['install', '-y', '--no-install-recommends', BINARY];
  log(`nats-server not found: installing it with apt-get install ${BINARY}`);
  let result = await run('apt-get', installArgs, log);
  if (result.code === 0) return;
  // Typical first-run failure: no package lists ("Unable to locate package")
  // or stale lists (404 on fetch). Refresh once and retry.
  log('apt-get install failed; running apt-get update once and retrying');
  const update = await run('apt-get', ['update'], log);
  if (update.code !== 0) {
    throw new InfraError(
      'infra.install_failed',
      `could not install nats-server: apt-get update failed (${lastLines(update.output, 2)}): install it manually (sudo apt-get install nats-server) or set LATCHKEY_NATS_URL`,
      { details: update.output },
    );
  }
  result = await run('apt-get', installArgs, log);
  if (result.code !== 0) {
    throw new InfraError(
      'infra.install_failed',
      `could not install nats-server with apt-get (${lastLines(result.output, 2)}): install it manually (sudo apt-get install nats-server) or set LATCHKEY_NATS_URL`,
      { details: result.output },
    );
  }
}

function canAptInstall(): boolean {
  return (
    typeof process.getuid === 'function' &&
    process.getuid() === 0 &&
    existsSync('/etc/debian_version') &&
    (existsSync('/usr/bin/apt-get') || existsSync('/bin/apt-get'))
  );
}

/**
 * Returns the absolute path of `nats-server` (LATCHKEY_NATS_SERVER_BIN, PATH,
 * /usr/sbin, /usr/bin). When missing and allowed, installs it with apt-get
 * (root on Debian/Ubuntu only), serialised across processes by a lock file.
 */
export async function ensureNatsServerBinary(opts: EnsureNatsServerBinaryOptions = {}): Promise<string> {
  const log = opts.log ?? (() => undefined);
  const found = await locateNatsServer();
  if (found !== undefined) return found;
  if (opts.allowInstall === false || !canAptInstall()) {
    throw new InfraError('infra.binary_missing', MISSING_MESSAGE);
  }
  const lockPath = path.join(os.tmpdir(), 'latchkey-nats-server-install.lock');
  const release = await acquireFileLock(lockPath, {
    timeoutMs: 10 * 60 * 1000,
    onWait: () => log('another process is installing nats-server; waiting for it'),
  });
  try {
    // Someone else may have installed it while we waited.
    const afterWait = await locateNatsServer();
    if (afterWait !== undefined) return afterWait;
    await aptInstall(log);
    const installed = await locateNatsServer();
    if (installed === undefined) {
      throw new InfraError(
        'infra.install_failed',
        'apt-get reported success but nats-server is still not on PATH: install it manually or set LATCHKEY_NATS_SERVER_BIN',
      );
    }
    log(`installed nats-server at ${installed}`);
    return installed;
  } finally {
    await release();
  }
}
