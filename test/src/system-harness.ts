import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { DEFAULT_SYSTEM_DIR, main as cliMain, systemFolderFor } from '@latchkey/cli';
import { SHARED_POSTGRES_ENV } from '@latchkey/testing';
import { assertPublicEventsDocumented } from './event-contract.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** A system's PostgreSQL cluster: in the data folder, or as root in its system folder (see cli/src/up/system-folder.ts). */
export function clusterDir(home: string): string {
  return process.getuid?.() === 0
    ? join(systemFolderFor(home, DEFAULT_SYSTEM_DIR), 'postgres')
    : join(home, 'postgres');
}
export const CLI = join(REPO, 'cli/bin/latchkey.js');

/**
 * This process's environment for what a test starts (a system, the CLI),
 * without the test run's shared PostgreSQL: a system under test has its own,
 * and never sees that cluster's credentials.
 */
export function childEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env[SHARED_POSTGRES_ENV];
  return env;
}

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
      env: { ...childEnv(), LATCHKEY_HOME: home, ...env },
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

/**
 * The same `latchkey` verbs run in this process (the CLI's own `main`, with
 * its output captured as a process's would be), for polling inside waitFor:
 * each CLI process costs about 0.5 s of CPU to start, and a poll makes many.
 * Exit code, standard output and error are what `runCli` gives.
 */
export async function runCliInProcess(
  home: string,
  args: string[],
  input?: string,
  env: Record<string, string> = {},
): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await cliMain(args, {
    out: (line) => (stdout += line + '\n'),
    err: (line) => (stderr += line + '\n'),
    stdin: Readable.from(input === undefined ? [] : [input]),
    env: { ...childEnv(), LATCHKEY_HOME: home, ...env },
    cwd: process.cwd(),
  });
  return { code, stdout, stderr };
}

/**
 * The environment of a system in `home` whose every port is a free one (`LATCHKEY_*_PORT=0`).
 * A test's system is thrown away: its PostgreSQL runs without fsync (LATCHKEY_PG_DURABLE=0) unless
 * `env` says otherwise (the files that kill or restart PostgreSQL do).
 */
export function systemEnv(home: string, env: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...childEnv(),
    LATCHKEY_PG_DURABLE: '0',
    LATCHKEY_HOME: home,
    LATCHKEY_NATS_PORT: '0',
    LATCHKEY_PG_PORT: '0',
    LATCHKEY_RAS_PORT: '0',
    LATCHKEY_CATALOG_PORT: '0',
    LATCHKEY_RESOLVER_PORT: '0',
    LATCHKEY_DEPLOYER_PORT: '0',
    LATCHKEY_GATEWAY_PORT: '0',
    LATCHKEY_HTTP_PORT: '0',
    ...env,
  };
}

/** A launched system's first process (`latchkey up`, or `npm start`), everything it printed kept. */
export interface LaunchedSystem {
  child: ChildProcess;
  /** Everything it printed so far (standard output and error). */
  output(): string;
  /** Its exit code, once it has exited. */
  exited: Promise<number | null>;
  /** Ctrl-C (SIGINT), once, and its exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts a system in `home` on free ports (`command`: `latchkey up` by
 * default) and waits until it prints "Latchkey is ready"; rejects, naming
 * what it printed, if it exits first or is not ready in `timeoutMs`.
 */
export async function launchSystem(opts: {
  home: string;
  env?: Record<string, string>;
  as?: RunAs;
  command?: { file: string; args: string[]; cwd?: string };
  timeoutMs?: number;
}): Promise<LaunchedSystem> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const command = opts.command ?? { file: process.execPath, args: [cliOf(opts.as), 'up'] };
  const child = spawn(command.file, command.args, {
    env: systemEnv(opts.home, opts.env),
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(command.cwd ? { cwd: command.cwd } : {}),
    ...(opts.as ? { uid: opts.as.uid, gid: opts.as.gid } : {}),
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stopped: Promise<number | null> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      return exited;
    })();
    return stopped;
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`latchkey up not ready after ${timeoutMs}ms; output:\n${out}`)),
      timeoutMs,
    );
    const check = () => {
      if (out.includes('Latchkey is ready')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`latchkey up exited with ${code} before it was ready; output:\n${out}`));
    });
  });
  return { child, output: () => out, exited, stop };
}

/** A process of a system: its pid, environment and command line, as words. */
export interface SystemProcess {
  pid: number;
  env: string[];
  cmd: string[];
}

/** Every process started with this data folder (npm, the launcher, services, NATS, PostgreSQL), read from /proc in one pass. */
export async function systemProcesses(home: string): Promise<SystemProcess[]> {
  const out: SystemProcess[] = [];
  for (const p of await readdir('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    const env = (await readFile(`/proc/${p}/environ`, 'latin1').catch(() => '')).split('\0');
    if (!env.includes(`LATCHKEY_HOME=${home}`)) continue;
    const cmd = await readFile(`/proc/${p}/cmdline`, 'latin1').catch(() => '');
    out.push({ pid: Number(p), env, cmd: cmd.split('\0') });
  }
  return out;
}

/** pids of every process started with this data folder. */
export async function systemPids(home: string): Promise<number[]> {
  return (await systemProcesses(home)).map((p) => p.pid);
}

export interface RunningSystem {
  home: string;
  up: ChildProcess;
  /** Everything `latchkey up` printed so far. */
  output(): string;
  cli(args: string[], input?: string): Promise<CliResult>;
  /** The CLI as the holder of `token` (LATCHKEY_TOKEN), not the stored identity. */
  cliAs(token: string): (args: string[], input?: string) => Promise<CliResult>;
  /** `cli`'s verbs in this process (runCliInProcess), for polls; a process of its own when the system runs as another user. */
  poll(args: string[], input?: string): Promise<CliResult>;
  /** Ctrl-C, and wait for every child to be gone. */
  stop(): Promise<number | null>;
  cleanup(): Promise<void>;
}

/** Starts `latchkey up` on free ports in a fresh (or given) data folder and waits for "Latchkey is ready". */
export async function startSystem(
  opts: { replicas?: number; home?: string; timeoutMs?: number; env?: Record<string, string>; as?: RunAs } = {},
): Promise<RunningSystem> {
  const home = opts.home ?? (await mkdtemp(join(tmpdir(), 'latchkey-e2e-')));
  const up = await launchSystem({
    home,
    env: { LATCHKEY_REPLICAS: String(opts.replicas ?? 1), ...opts.env },
    ...(opts.as ? { as: opts.as } : {}),
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
  });
  return {
    home,
    up: up.child,
    output: up.output,
    cli: (args, input) => runCli(home, args, input, {}, opts.as),
    cliAs: (token) => (args, input) => runCli(home, args, input, { LATCHKEY_TOKEN: token }, opts.as),
    poll: (args, input) => (opts.as ? runCli(home, args, input, {}, opts.as) : runCliInProcess(home, args, input)),
    stop: up.stop,
    async cleanup() {
      // Every public event the test made the system publish must be as the AsyncAPI document says
      // (a system the test stopped itself is not looked into).
      const running = up.child.exitCode === null && up.child.signalCode === null;
      const undocumented = running
        ? await assertPublicEventsDocumented(home).then(
            () => undefined,
            (err: unknown) => err,
          )
        : undefined;
      await up.stop();
      if (!opts.home) await rm(home, { recursive: true, force: true });
      if (undocumented !== undefined) throw undocumented;
    },
  };
}
