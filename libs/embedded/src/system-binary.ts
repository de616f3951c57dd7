import { spawn } from 'node:child_process';
import { constants as fsConstants, existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InfraError } from './infra-errors.js';
import { acquireFileLock } from './install-lock.js';
import { forEachLine } from './line-splitter.js';

/** A program Latchkey needs from the host, and how to get it. */
export interface SystemBinary {
  /** File name looked up on PATH, /usr/sbin, /usr/bin... (e.g. nats-server, bwrap). */
  binary: string;
  /** The Debian/Ubuntu package that ships it. */
  aptPackage: string;
  /** A variable that names the file to use instead of a PATH lookup. */
  envVar: string;
  /** What else the user may do instead of installing it (e.g. "or set LATCHKEY_NATS_URL"). */
  alternative: string;
}

export interface EnsureSystemBinaryOptions {
  /** Install with apt-get when missing (only as root on Debian/Ubuntu). Default true. */
  allowInstall?: boolean;
  log?: (line: string) => void;
}

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

/** The program's absolute path (its variable, else PATH), or undefined when it is not installed. */
export async function locateSystemBinary(what: SystemBinary): Promise<string | undefined> {
  const fromEnv = process.env[what.envVar];
  if (fromEnv !== undefined && fromEnv !== '') {
    const resolved = path.resolve(fromEnv);
    if (await isExecutableFile(resolved)) return resolved;
    throw new InfraError(
      'infra.binary_missing',
      `${what.envVar} points at ${resolved}, which is not an executable file: fix the path or unset it`,
    );
  }
  return findOnPath(what.binary);
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

const manually = (what: SystemBinary): string =>
  `install it manually (sudo apt-get install ${what.aptPackage}) ${what.alternative}`;

async function aptInstall(what: SystemBinary, log: (line: string) => void): Promise<void> {
  const installArgs = ['install', '-y', '--no-install-recommends', what.aptPackage];
  log(`${what.binary} not found: installing it with apt-get install ${what.aptPackage}`);
  let result = await run('apt-get', installArgs, log);
  if (result.code === 0) return;
  // Typical first-run failure: no package lists ("Unable to locate package")
  // or stale lists (404 on fetch). Refresh once and retry.
  log('apt-get install failed; running apt-get update once and retrying');
  const update = await run('apt-get', ['update'], log);
  if (update.code !== 0) {
    throw new InfraError(
      'infra.install_failed',
      `could not install ${what.aptPackage}: apt-get update failed (${lastLines(update.output, 2)}): ${manually(what)}`,
      { details: update.output },
    );
  }
  result = await run('apt-get', installArgs, log);
  if (result.code !== 0) {
    throw new InfraError(
      'infra.install_failed',
      `could not install ${what.aptPackage} with apt-get (${lastLines(result.output, 2)}): ${manually(what)}`,
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
 * Returns the absolute path of a host program (its variable, PATH, /usr/sbin,
 * /usr/bin). When missing and allowed, installs its package with apt-get
 * (root on Debian/Ubuntu only), serialised across processes by a lock file.
 */
export async function ensureSystemBinary(what: SystemBinary, opts: EnsureSystemBinaryOptions = {}): Promise<string> {
  const log = opts.log ?? (() => undefined);
  const found = await locateSystemBinary(what);
  if (found !== undefined) return found;
  if (opts.allowInstall === false || !canAptInstall()) {
    throw new InfraError(
      'infra.binary_missing',
      `${what.binary} is not installed: install it (Debian/Ubuntu: sudo apt-get install ${what.aptPackage}) ${what.alternative}`,
    );
  }
  return withAptLock(what.aptPackage, log, async () => {
    // Someone else may have installed it while we waited.
    const afterWait = await locateSystemBinary(what);
    if (afterWait !== undefined) return afterWait;
    await aptInstall(what, log);
    const installed = await locateSystemBinary(what);
    if (installed === undefined) {
      throw new InfraError(
        'infra.install_failed',
        `apt-get reported success but ${what.binary} is still not on PATH: install it manually or set ${what.envVar}`,
      );
    }
    log(`installed ${what.binary} at ${installed}`);
    return installed;
  });
}

/** Runs `fn` holding the one lock of every apt-get run of Latchkey (dpkg takes one install at a time anyway). */
async function withAptLock<T>(aptPackage: string, log: (line: string) => void, fn: () => Promise<T>): Promise<T> {
  const lockPath = path.join(os.tmpdir(), 'latchkey-apt-install.lock');
  const release = await acquireFileLock(lockPath, {
    timeoutMs: 10 * 60 * 1000,
    onWait: () => log(`another process is installing a package; waiting for it before installing ${aptPackage}`),
  });
  try {
    return await fn();
  } finally {
    await release();
  }
}

/** Something an apt package provides that is not a program on PATH, such as a Python module. */
export interface AptProvided {
  /** What it is, for messages: e.g. "the Python module kubernetes". */
  what: string;
  aptPackage: string;
  /** What the user may do instead of installing it. */
  alternative: string;
  /** Where it is (any text the caller wants back), or undefined when it is not installed. */
  locate(): Promise<string | undefined>;
}

/**
 * As `ensureSystemBinary`, for what is not a program: `locate()`'s answer,
 * installing the package with apt-get first when missing and allowed (root
 * on Debian/Ubuntu only, under the same lock).
 */
export async function ensureAptProvided(p: AptProvided, opts: EnsureSystemBinaryOptions = {}): Promise<string> {
  const log = opts.log ?? (() => undefined);
  const found = await p.locate();
  if (found !== undefined) return found;
  const as: SystemBinary = { binary: p.what, aptPackage: p.aptPackage, envVar: '', alternative: p.alternative };
  if (opts.allowInstall === false || !canAptInstall()) {
    throw new InfraError(
      'infra.binary_missing',
      `${p.what} is not installed: install it (Debian/Ubuntu: sudo apt-get install ${p.aptPackage}) ${p.alternative}`,
    );
  }
  return withAptLock(p.aptPackage, log, async () => {
    const afterWait = await p.locate();
    if (afterWait !== undefined) return afterWait;
    await aptInstall(as, log);
    const installed = await p.locate();
    if (installed === undefined) {
      throw new InfraError(
        'infra.install_failed',
        `apt-get reported success but ${p.what} is still missing: ${manually(as)}`,
      );
    }
    log(`installed ${p.what}`);
    return installed;
  });
}
