import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_SYSTEM_DIR, systemFolderFor } from '@latchkey/cli';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** A system's PostgreSQL cluster: in the data folder, or as root in its system folder (see cli/src/system-folder.ts). */
export function clusterDir(home: string): string {
  return process.getuid?.() === 0
    ? join(systemFolderFor(home, DEFAULT_SYSTEM_DIR), 'postgres')
    : join(home, 'postgres');
}
export const CLI = join(REPO, 'cli/bin/latchkey.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * An OS user to run the system and the CLI as (the test runs as root);
 * `repo`: a checkout that user can reach (see reachableRepo), else REPO.
 */
export interface RunAs {
  uid: number;
  gid: number;
  repo?: string;
}

/** True when every folder above `dir` (and `dir` itself) lets others through. */
function traversableByOthers(dir: string): boolean {
  for (let d = dir; ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) return false;
    if (dirname(d) === d) return true;
  }
}

/**
 * A checkout of this repository that another OS user can reach: REPO itself,
 * or, when REPO sits in a private folder (a clone in a 0700 /root), a copy of
 * it made of hard links (`cp -al`, a copy where links cannot cross file
 * systems) in a fresh folder of the temporary directory. `cleanup` removes a copy.
 */
export async function reachableRepo(): Promise<{ path: string; cleanup(): Promise<void> }> {
  const repo = REPO.replace(/\/$/, '');
  if (traversableByOthers(repo)) return { path: repo, cleanup: () => Promise.resolve() };
  const parent = await mkdtemp(join(tmpdir(), 'latchkey-repo-'));
  await chmod(parent, 0o755);
  const copy = join(parent, 'repo');
  const cp = (flags: string) =>
    new Promise<number | null>((resolve) =>
      spawn('cp', [flags, repo, copy], { stdio: 'ignore' }).once('close', (code) => resolve(code)),
    );
  if ((await cp('-al')) !== 0) {
    await rm(copy, { recursive: true, force: true });
    if ((await cp('-a')) !== 0) throw new Error(`could not copy ${repo} to ${copy} for another OS user`);
  }
  return { path: copy, cleanup: () => rm(parent, { recursive: true, force: true }) };
}

const cliOf = (as?: RunAs): string => (as?.repo ? join(as.repo, 'cli/bin/latchkey.js') : CLI);

/** Runs the `latchkey` CLI as a user would, with `input` on standard input. */
export function runCli(
  home: string,
  args: string[],
  input?: string,
  env: Record<string, string> = {},
  as?: RunAs,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliOf(as), ...args], {
      env: { ...process.env, LATCHKEY_HOME: home, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(as ? { uid: as.uid, gid: as.gid } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

export interface RunningSystem {
  home: string;
  up: ChildProcess;
  /** Everything `latchkey up` printed so far. */
  output(): string;
  cli(args: string[], input?: string): Promise<CliResult>;
  /** Ctrl-C, and wait for every child to be gone. */
  stop(): Promise<number | null>;
  cleanup(): Promise<void>;
}

/** Starts `latchkey up` on free ports in a fresh (or given) data folder and waits for "Latchkey is ready". */
export async function startSystem(
  opts: { replicas?: number; home?: string; timeoutMs?: number; env?: Record<string, string>; as?: RunAs } = {},
): Promise<RunningSystem> {
  const home = opts.home ?? (await mkdtemp(join(tmpdir(), 'latchkey-e2e-')));
  const env = {
    ...process.env,
    LATCHKEY_HOME: home,
    LATCHKEY_NATS_PORT: '0',
    LATCHKEY_PG_PORT: '0',
    LATCHKEY_RAS_PORT: '0',
    LATCHKEY_CATALOG_PORT: '0',
    LATCHKEY_RESOLVER_PORT: '0',
    LATCHKEY_DEPLOYER_PORT: '0',
    LATCHKEY_REPLICAS: String(opts.replicas ?? 1),
    ...opts.env,
  };
  const up = spawn(process.execPath, [cliOf(opts.as), 'up'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.as ? { uid: opts.as.uid, gid: opts.as.gid } : {}),
  });
  let out = '';
  up.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  up.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => up.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`latchkey up not ready after ${opts.timeoutMs ?? 120_000}ms; output:\n${out}`)),
      opts.timeoutMs ?? 120_000,
    );
    const check = () => {
      if (out.includes('Latchkey is ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    up.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`latchkey up exited with ${code} before it was ready; output:\n${out}`));
    });
  });
  let stopped: Promise<number | null> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      if (up.exitCode === null && up.signalCode === null) up.kill('SIGINT');
      return exited;
    })();
    return stopped;
  };
  return {
    home,
    up,
    output: () => out,
    cli: (args, input) => runCli(home, args, input, {}, opts.as),
    stop,
    async cleanup() {
      await stop();
      if (!opts.home) await rm(home, { recursive: true, force: true });
    },
  };
}
