import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LatchkeyError } from '@latchkey/errors';
import type { Logger, Redactor } from '@latchkey/logger';
import type { DeploymentRecord } from '../domain/deployment-types.js';
import type { RunHooks, RunSpec, WorkloadRuntime } from '../domain/ports.js';
import { pipeProcessOutput, WorkloadOutput } from './workload-output.js';

/**
 * True when process `pid` runs for this deployment (its environment says
 * so: Linux /proc), so that a pid reused by another process is never
 * signalled. False where that cannot be read.
 */
export async function runsDeployment(pid: number, deploymentId: string, procDir = '/proc'): Promise<boolean> {
  try {
    const environ = await readFile(join(procDir, String(pid), 'environ'), 'latin1');
    return environ.split('\0').includes(`LATCHKEY_DEPLOYMENT_ID=${deploymentId}`);
  } catch {
    return false;
  }
}

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
}

/**
 * The embedded runtime: a workload is a child process. Env vars go into its
 * environment; Spark conf into a properties file readable only by its owner
 * (path in LATCHKEY_SPARK_PROPERTIES_FILE), removed when the process ends.
 * No value is ever on a command line. Output is redacted line by line.
 */
export class ProcessRuntime implements WorkloadRuntime {
  private readonly procs = new Map<string, Running>();

  /**
   * `redactor`: the service's own (its logger masks what it holds), so that a
   * value is masked in the service's log lines while a deployment holds it.
   * A deployment's output is masked with its own values only (WorkloadOutput).
   * `maxLineBytes`: a longer output line is cut.
   */
  constructor(private readonly deps: { workDir: string; logger: Logger; redactor?: Redactor; maxLineBytes?: number }) {}

  async start(spec: RunSpec, hooks: RunHooks): Promise<{ pid: number }> {
    const [program, ...args] = spec.command;
    if (!program) throw new LatchkeyError('runtime.no_command', 'the workload has no command');
    const dir = join(this.deps.workDir, spec.deploymentId);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const env: Record<string, string> = {};
    for (const name of INHERITED) {
      const v = process.env[name];
      if (v !== undefined) env[name] = v;
    }
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
      env.LATCHKEY_SPARK_PROPERTIES_FILE = file;
    }

    const output = new WorkloadOutput(spec.secrets, {
      serviceRedactor: this.deps.redactor,
      maxLineBytes: this.deps.maxLineBytes,
    });
    const child = spawn(program, args, { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
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

    const entry: Running = { workloadId: spec.workloadId, child, dir, stopReason: undefined };
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
    p.child.kill('SIGTERM');
    const timer = setTimeout(() => p.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    return true;
  }

  /**
   * A process an earlier run of this deployer started and lost (it
   * crashed): terminated if it still runs for that deployment, killed if it
   * ignores that for 5 s.
   */
  async reclaim(leftover: DeploymentRecord): Promise<void> {
    const pid = leftover.pid;
    if (pid === null || pid <= 0 || this.procs.has(leftover.id)) return;
    if (!(await runsDeployment(pid, leftover.id))) return;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      void runsDeployment(pid, leftover.id).then((still) => {
        if (still) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone meanwhile
          }
        }
      });
    }, 5000);
    timer.unref();
  }

  running(): { deploymentId: string; workloadId: string }[] {
    return [...this.procs].map(([deploymentId, p]) => ({ deploymentId, workloadId: p.workloadId }));
  }

  async stopAll(reason: string): Promise<void> {
    await Promise.all([...this.procs.keys()].map((id) => this.stop(id, reason)));
  }
}
