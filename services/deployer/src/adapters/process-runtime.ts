import { spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { Readable } from 'node:stream';
import type { OsUserIds } from '@latchkey/embedded';
import { LatchkeyError } from '@latchkey/errors';
import type { Logger, Redactor } from '@latchkey/logger';
import type { DeploymentRecord } from '../domain/deployment-types.js';
import type { RunHooks, RunSpec, WorkloadRuntime } from '../domain/ports.js';
import { processesOfDeployment, runsDeployment } from './deployment-processes.js';
import { pipeProcessOutput, WorkloadOutput } from './workload-output.js';
import {
  findProgram,
  SANDBOX_WORK_DIR,
  sandboxArgs,
  unavailableError,
  visibleInSandbox,
  type Isolation,
  type SandboxIdentities,
} from './process-sandbox.js';

export { runsDeployment } from './deployment-processes.js';

/** SIGTERM to a process of `deploymentId`, SIGKILL if it still runs for it 5 s later. */
function terminate(pid: number, deploymentId: string): void {
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(pid, s);
      return true;
    } catch {
      return false; // gone meanwhile
    }
  };
  if (!signal('SIGTERM')) return;
  const timer = setTimeout(() => {
    void runsDeployment(pid, deploymentId).then((still) => still && signal('SIGKILL'));
  }, 5000);
  timer.unref();
}

const UNSANDBOXED_LOG =
  "starting a workload WITHOUT isolation (LATCHKEY_PROCESS_ISOLATION=none): it runs as the deployer's own OS user";

/** The file of the work folder that holds the CA the workload trusts the gateway with (LATCHKEY_CA_FILE). */
const API_CA_FILE = 'latchkey-ca.pem';

/** Variables a workload inherits from the deployer; nothing else of its environment. */
const INHERITED = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'NODE_PATH'];

/** Java-properties escaping, so that any value survives `key=value` lines. */
const PROPERTY_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\f': '\\f' };

export function propertiesLine(key: string, value: string): string {
  // Backslash, separators, comment starters, control characters, and a leading
  // or doubled space (which a properties reader would drop).
  const esc = (s: string) => s.replace(/[\\\n\r\t\f=:#!]|^ | (?= )/g, (c) => PROPERTY_ESCAPES[c] ?? `\\${c}`);
  return `${esc(key)}=${esc(value)}`;
}

interface Running {
  workloadId: string;
  child: ChildProcess;
  dir: string;
  stopReason: string | undefined;
  /** Sandboxed: the host pid of the sandbox's init (bwrap's --info-fd), whose children are the workload. */
  sandboxInit?: Promise<number | undefined>;
}

/** The `child-pid` bubblewrap writes to its info fd: the sandbox's init, as the host sees it. */
function readSandboxInit(info: Readable | null | undefined): Promise<number | undefined> {
  return new Promise((resolve) => {
    if (!info) return resolve(undefined);
    let text = '';
    const parsed = (): number | undefined => {
      try {
        const pid = (JSON.parse(text) as { 'child-pid'?: unknown })['child-pid'];
        return typeof pid === 'number' && pid > 0 ? pid : undefined;
      } catch {
        return undefined; // not complete yet
      }
    };
    info.setEncoding('utf8');
    info.on('data', (d: string) => {
      text += d;
      const pid = parsed();
      if (pid !== undefined) resolve(pid);
    });
    info.once('close', () => resolve(parsed()));
  });
}

/** The processes a sandbox's init started (the workload, and orphans it adopted). */
async function childrenOf(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text
      .split(' ')
      .map((p) => Number.parseInt(p, 10))
      .filter((p) => p > 0);
  } catch {
    return [];
  }
}

/**
 * The embedded runtime: a workload is a child process. Env vars go into its
 * environment; Spark conf into a properties file readable only by its owner
 * (path in LATCHKEY_SPARK_PROPERTIES_FILE), removed when the process ends.
 * No value is ever on a command line. Output is redacted line by line.
 *
 * Isolated (see process-sandbox.ts): the process runs in a bubblewrap
 * sandbox that shows it the system folders read-only, a private /tmp, its
 * own /proc and its work folder (the only writable one), in its own pid, ipc
 * and uts namespaces; as root, as its domain's uid, which owns the work
 * folder and the properties file alone.
 */
export class ProcessRuntime implements WorkloadRuntime {
  private readonly procs = new Map<string, Running>();
  readonly warnings: readonly string[];

  /**
   * `redactor`: the service's own (its logger masks what it holds), so that a
   * value is masked in the service's log lines while a deployment holds it.
   * A deployment's output is masked with its own values only (WorkloadOutput).
   * `maxLineBytes`: a longer output line is cut.
   * `identities`: each domain's uid, needed when the sandbox runs as root.
   */
  constructor(
    private readonly deps: {
      workDir: string;
      logger: Logger;
      redactor?: Redactor;
      maxLineBytes?: number;
      isolation: Isolation;
      identities?: SandboxIdentities;
    },
  ) {
    this.warnings = deps.isolation.kind === 'none' ? [deps.isolation.warning] : [];
  }

  async start(spec: RunSpec, hooks: RunHooks): Promise<{ pid: number }> {
    const [program, ...args] = spec.command;
    if (!program) throw new LatchkeyError('runtime.no_command', 'the workload has no command');
    const iso = this.deps.isolation;
    if (iso.kind === 'unavailable') throw unavailableError(iso);
    const ids = iso.kind === 'sandbox' && iso.asRoot ? await this.identityOf(spec.domain) : undefined;
    const dir = join(this.deps.workDir, spec.deploymentId);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // As root, the folder and the properties file are the domain's identity's alone.
    if (ids) await chown(dir, ids.uid, ids.gid);
    const env: Record<string, string> = {};
    for (const name of INHERITED) {
      const v = process.env[name];
      if (v !== undefined) env[name] = v;
    }
    // Sandboxed, the deployer's home and temporary folder are not there: the work folder and a private /tmp are.
    if (iso.kind === 'sandbox') Object.assign(env, { HOME: SANDBOX_WORK_DIR, TMPDIR: '/tmp' });
    Object.assign(env, spec.env, {
      LATCHKEY_DEPLOYMENT_ID: spec.deploymentId,
      LATCHKEY_WORKLOAD: spec.workload,
      LATCHKEY_DOMAIN: spec.domain,
    });
    const confKeys = Object.keys(spec.sparkConf);
    if (confKeys.length > 0) {
      const file = join(dir, 'spark.properties');
      const body = confKeys.map((k) => propertiesLine(k, spec.sparkConf[k] ?? '')).join('\n') + '\n';
      await writeFile(file, body, { mode: 0o600 });
      if (ids) await chown(file, ids.uid, ids.gid);
      env.LATCHKEY_SPARK_PROPERTIES_FILE = iso.kind === 'sandbox' ? join(SANDBOX_WORK_DIR, 'spark.properties') : file;
    }
    if (spec.apiCaPem) {
      // The CA that issued the gateway's certificate (public), for the workload's own API calls.
      const file = join(dir, API_CA_FILE);
      await writeFile(file, spec.apiCaPem, { mode: 0o644 });
      if (ids) await chown(file, ids.uid, ids.gid);
      env.LATCHKEY_CA_FILE = iso.kind === 'sandbox' ? join(SANDBOX_WORK_DIR, API_CA_FILE) : file;
    }
    let launch: { file: string; args: string[] } = { file: program, args };
    if (iso.kind === 'sandbox') {
      // bubblewrap would start and then fail to exec: say why before anything runs.
      // (A relative command names a file of the work folder, which is empty but for spark.properties.)
      const found = program.includes('/') && !isAbsolute(program) ? program : await findProgram(program, env.PATH);
      const problem =
        found === undefined
          ? `command ${program} not found on PATH`
          : isAbsolute(found) && !visibleInSandbox(iso, found)
            ? `command ${found} is outside what a sandboxed workload sees (${iso.readOnly.map((m) => m.path).join(', ')}, /work, /tmp): install it under /usr (e.g. /usr/local/bin)`
            : undefined;
      if (problem) {
        await rm(dir, { recursive: true, force: true });
        throw new LatchkeyError('runtime.spawn_failed', problem);
      }
      launch = { file: iso.bwrap, args: [...sandboxArgs(iso, dir), '--', found ?? program, ...args] };
    } else {
      this.deps.logger.warn(UNSANDBOXED_LOG, { deploymentId: spec.deploymentId, domain: spec.domain });
    }

    const output = new WorkloadOutput(spec.secrets, {
      serviceRedactor: this.deps.redactor,
      maxLineBytes: this.deps.maxLineBytes,
    });
    const child = spawn(launch.file, launch.args, {
      env,
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe', iso.kind === 'sandbox' ? 'pipe' : 'ignore'],
      ...(ids ? { uid: ids.uid, gid: ids.gid } : {}),
    });
    const sandboxInit = iso.kind === 'sandbox' ? readSandboxInit(child.stdio[3] as Readable | null) : undefined;
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('spawn', () => resolve(child.pid ?? -1));
      child.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new LatchkeyError(
            'runtime.spawn_failed',
            err.code === 'ENOENT'
              ? `command ${program} not found on PATH`
              : `cannot start ${program} (${err.code ?? 'error'})`,
          ),
        ),
      );
    }).catch(async (err: unknown) => {
      // The service's redactor must not hold the values of a process that never ran.
      output.release();
      await rm(dir, { recursive: true, force: true });
      throw err;
    });

    const entry: Running = {
      workloadId: spec.workloadId,
      child,
      dir,
      stopReason: undefined,
      ...(sandboxInit ? { sandboxInit } : {}),
    };
    this.procs.set(spec.deploymentId, entry);
    const outputs = pipeProcessOutput(child, output, hooks);
    child.once('exit', (code, signal) => {
      void outputs.then(async () => {
        this.procs.delete(spec.deploymentId);
        await rm(dir, { recursive: true, force: true }).catch(() => undefined);
        output.release();
        hooks.onExit(code, signal, entry.stopReason);
      });
    });
    return { pid };
  }

  async stop(deploymentId: string, reason: string): Promise<boolean> {
    const p = this.procs.get(deploymentId);
    if (!p || p.stopReason !== undefined) return false;
    p.stopReason = reason;
    const exited = new Promise<void>((resolve) => p.child.once('exit', () => resolve()));
    await this.terminate(p);
    // Killing bubblewrap kills its whole sandbox (the kernel ends a pid namespace with its init).
    const timer = setTimeout(() => p.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    return true;
  }

  /**
   * A process an earlier run of this deployer started and lost (it
   * crashed): terminated if it still runs for that deployment, killed if it
   * ignores that for 5 s. Found by its recorded pid, or, when that does not
   * run the deployment (never recorded: the replica died between starting
   * it and writing it down), by the deployment id in its environment.
   */
  async reclaim(leftover: DeploymentRecord): Promise<void> {
    if (this.procs.has(leftover.id)) return;
    const recorded = leftover.pid !== null && leftover.pid > 0 && (await runsDeployment(leftover.pid, leftover.id));
    const pids = recorded ? [leftover.pid!] : await processesOfDeployment(leftover.id);
    for (const pid of pids) terminate(pid, leftover.id);
  }

  /**
   * SIGTERM to the workload itself. Sandboxed, that is the child of the
   * sandbox's init (bubblewrap's init ignores SIGTERM, and bubblewrap dies of
   * it, taking the sandbox with it at once, with no time to end cleanly).
   */
  private async terminate(p: Running): Promise<void> {
    // Written by bubblewrap right after it starts (undefined if it ended first).
    const init = await p.sandboxInit;
    const workload = init === undefined ? [] : await childrenOf(init);
    if (workload.length === 0) {
      p.child.kill('SIGTERM');
      return;
    }
    for (const pid of workload) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // ended meanwhile
      }
    }
  }

  private async identityOf(domain: string): Promise<OsUserIds> {
    if (!this.deps.identities)
      throw new LatchkeyError(
        'runtime.no_sandbox_identities',
        'the sandbox runs as root but has no identities to run workloads as',
      );
    return this.deps.identities.identityFor(domain);
  }

  running(): { deploymentId: string; workloadId: string }[] {
    return [...this.procs].map(([deploymentId, p]) => ({ deploymentId, workloadId: p.workloadId }));
  }

  async stopAll(reason: string): Promise<void> {
    await Promise.all([...this.procs.keys()].map((id) => this.stop(id, reason)));
  }
}
