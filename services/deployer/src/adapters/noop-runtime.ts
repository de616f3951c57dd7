import type { RunHooks, RunSpec, WorkloadRuntime } from '../domain/ports.js';

interface Running {
  workloadId: string;
  hooks: RunHooks;
}

/**
 * The `noop` runtime (LATCHKEY_RUNTIME=noop): a deployment "runs" from its
 * start until it is stopped, and nothing is executed. It exists to measure
 * Latchkey itself (resolution, sealing, bookkeeping) without a process start
 * in the way; the benchmarks under test/bench use it.
 *
 * It keeps no value: of the spec it remembers only the workload id, so that
 * a newer deployment of the same workload stops the older one as with the
 * other runtimes. Its pid is 0 (no process).
 */
export class NoopRuntime implements WorkloadRuntime {
  private readonly deployments = new Map<string, Running>();

  start(spec: RunSpec, hooks: RunHooks): Promise<{ pid: number }> {
    this.deployments.set(spec.deploymentId, { workloadId: spec.workloadId, hooks });
    return Promise.resolve({ pid: 0 });
  }

  stop(deploymentId: string, reason: string): Promise<boolean> {
    const running = this.deployments.get(deploymentId);
    if (!running) return Promise.resolve(false);
    this.deployments.delete(deploymentId);
    // As a process would: the exit is reported after stop() was asked for.
    running.hooks.onExit(null, 'SIGTERM', reason);
    return Promise.resolve(true);
  }

  running(): { deploymentId: string; workloadId: string }[] {
    return [...this.deployments].map(([deploymentId, r]) => ({ deploymentId, workloadId: r.workloadId }));
  }

  async stopAll(reason: string): Promise<void> {
    await Promise.all([...this.deployments.keys()].map((id) => this.stop(id, reason)));
  }
}
