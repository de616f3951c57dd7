/**
 * The `kubernetes` runtime: a deployment becomes a Pod in its domain's
 * namespace, and its resolved values a per-deployment Opaque Secret that the
 * Pod owns (ownerReference), so they are garbage-collected with the Pod.
 *
 * - Env vars that hold a resolved value reach the container through
 *   `valueFrom.secretKeyRef`; plain literals stay plain `value`s.
 * - Spark conf becomes `spark.properties` in the Secret, mounted read-only
 *   (mode 0400) at /var/run/latchkey; its path is in LATCHKEY_SPARK_PROPERTIES_FILE.
 * - The Pod is created first and the Secret after it, so the Secret can name
 *   the Pod's uid as its owner; the kubelet waits for a referenced Secret.
 * - The Pod's phase is watched (a watch per Pod, by field selector; the
 *   Pod is read once each time the watch is (re)opened, so nothing is missed
 *   between two watches) and reported: Succeeded/Failed end the deployment
 *   with the container's exit code, as a process exit would, and the Pod is
 *   deleted (its values Secret with it); a Pod deleted by someone else ends
 *   the deployment as killed.
 * - The container's output is read from the Pod's log (followed from when
 *   the Pod runs; read whole if the Pod finished before it was seen
 *   running) through the redactor, as the process runtime's output is, and
 *   a finished Pod is deleted only once its output has been read (or after
 *   `logDrainMs`). Kubernetes merges stdout and stderr: lines are reported
 *   as stdout. A followed log cut before the Pod ends is not resumed.
 *
 * No value is ever in the Pod spec, a label, an annotation or an error.
 *
 * This file tracks the deployments it started (watch, end, stop); beside it:
 * the pure Pod and Secret builder (kubernetes-pod-manifest.ts), their creation
 * with its checks and retries (kubernetes-pod-create.ts), the log follower
 * (kubernetes-pod-logs.ts) and the API's errors (kubernetes-api.ts).
 */
import { CoreV1Api, type KubeConfig, Log, Watch, type V1Pod } from '@kubernetes/client-node';
import type { Redactor } from '@latchkey/logger';
import type { DeploymentRecord } from '../domain/deployment-types.js';
import type { RunHooks, RunSpec, WorkloadRuntime } from '../domain/ports.js';
import { WorkloadOutput } from './workload-output.js';
import { apiError, apiStatus } from './kubernetes-api.js';
import { createDeploymentPod, type PodCreateOptions } from './kubernetes-pod-create.js';
import { readPodLogs, type PodLogs } from './kubernetes-pod-logs.js';
import { dnsLabel, domainNamespace } from './kubernetes-pod-manifest.js';

export { loadKubeConfig } from './kubernetes-api.js';

export interface KubernetesRuntimeOptions extends PodCreateOptions {
  kubeConfig: KubeConfig;
  /** Delay before a closed or failed watch is opened again. Default 2000 ms. */
  rewatchMs?: number;
  /**
   * How long `stop` waits, after the Pod's deletion was accepted, to see it
   * gone before it reports the deployment stopped anyway (a watch or an API
   * that hangs must not hang a shutdown). Default: the Pods' grace period
   * (`terminationGraceSeconds`, else the usual 30 s) plus 30 s, at least 60 s.
   */
  stopWaitMs?: number;
  /**
   * How long a finished Pod's output may take to arrive before the
   * deployment ends without the rest of it. Default 10 s.
   */
  logDrainMs?: number;
  /** The service's redactor: values are masked in its log lines while a deployment holds them. */
  redactor?: Redactor;
  /** A longer output line is cut. */
  maxLineBytes?: number;
}

interface Running {
  workloadId: string;
  hooks: RunHooks;
  /** Masks the deployment's own values (only) in its output. */
  output: WorkloadOutput;
  logs: PodLogs | undefined;
  /** The Pod finished: its output is being drained before the deployment ends. */
  finishing: boolean;
  namespace: string;
  pod: string;
  stopReason: string | undefined;
  timer: NodeJS.Timeout | undefined;
  watch: AbortController | undefined;
  /** The current watch's identity: a closed watch that is no longer current is not reopened. */
  watchToken: object | undefined;
  /** waiting: a (re)open is scheduled; opening: reading the Pod / opening the watch; watching. */
  phase: 'waiting' | 'opening' | 'watching';
  done: Promise<void>;
  finish: () => void;
}

export class KubernetesRuntime implements WorkloadRuntime {
  private readonly api: CoreV1Api;
  private readonly watcher: Watch;
  private readonly logReader: Log;
  private readonly pods = new Map<string, Running>();

  constructor(private readonly opts: KubernetesRuntimeOptions) {
    this.api = opts.kubeConfig.makeApiClient(CoreV1Api);
    this.watcher = new Watch(opts.kubeConfig);
    this.logReader = new Log(opts.kubeConfig);
  }

  namespaceOf(domain: string): string {
    return domainNamespace(this.opts.namespacePrefix ?? 'latchkey-', domain);
  }

  /** The Pod of a deployment: named after its workload and the start of its id. */
  podName(workload: string, deploymentId: string): string {
    return `lk-${dnsLabel(workload, 40)}-${deploymentId.slice(0, 8)}`;
  }

  /**
   * The Pod an earlier run of this deployer started and lost (it crashed):
   * deleted, with its values Secret, if it carries this deployment's label.
   */
  async reclaim(leftover: DeploymentRecord): Promise<void> {
    if (this.pods.has(leftover.id)) return;
    const namespace = this.namespaceOf(leftover.domain);
    const name = this.podName(leftover.workload, leftover.id);
    let pod: V1Pod;
    try {
      pod = await this.api.readNamespacedPod({ name, namespace });
    } catch (err) {
      if (apiStatus(err) === 404) return;
      throw apiError(err, `reading Pod ${name}`);
    }
    if (pod.metadata?.labels?.['latchkey.dev/deployment'] !== leftover.id) return;
    try {
      await this.api.deleteNamespacedPod({ name, namespace });
    } catch (err) {
      if (apiStatus(err) !== 404) throw apiError(err, `deleting Pod ${name}`);
    }
  }

  async start(spec: RunSpec, hooks: RunHooks): Promise<{ pid: number }> {
    const namespace = this.namespaceOf(spec.domain);
    const name = this.podName(spec.workload, spec.deploymentId);
    await createDeploymentPod(this.api, this.opts, spec, { namespace, name });
    const output = new WorkloadOutput(spec.secrets, {
      serviceRedactor: this.opts.redactor,
      maxLineBytes: this.opts.maxLineBytes,
    });
    let finish = () => undefined as void;
    const done = new Promise<void>((resolve) => (finish = resolve)).then(() => output.release());
    const entry: Running = {
      workloadId: spec.workloadId,
      hooks,
      output,
      logs: undefined,
      finishing: false,
      namespace,
      pod: name,
      stopReason: undefined,
      timer: undefined,
      watch: undefined,
      watchToken: undefined,
      phase: 'waiting',
      done,
      finish,
    };
    this.pods.set(spec.deploymentId, entry);
    this.track(spec.deploymentId, entry, 0);
    return { pid: 0 };
  }

  /** Ends a tracked deployment once: its watch closed, its output reported, its exit reported. */
  private end(deploymentId: string, entry: Running, code: number | null, signal: string | null): void {
    if (this.pods.get(deploymentId) !== entry) return;
    this.pods.delete(deploymentId);
    clearTimeout(entry.timer);
    entry.watchToken = undefined;
    entry.watch?.abort();
    entry.logs?.close();
    entry.hooks.onExit(code, signal, entry.stopReason);
    entry.finish();
  }

  /** Looks at a Pod: true when it has ended (and the deployment with it, or once its output is read). */
  private observe(deploymentId: string, entry: Running, pod: V1Pod | undefined, deleted: boolean): boolean {
    if (deleted || pod === undefined) {
      this.end(deploymentId, entry, null, 'SIGKILL');
      return true;
    }
    if (entry.finishing) return true;
    const phase = pod.status?.phase;
    if (phase === 'Running' && entry.logs === undefined && entry.stopReason === undefined) {
      entry.logs = readPodLogs(this.logReader, entry, true, this.opts.logger);
    }
    if (phase !== 'Succeeded' && phase !== 'Failed') return false;
    entry.finishing = true;
    const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
    const code = terminated?.exitCode ?? (phase === 'Succeeded' ? 0 : 1);
    // Finished before it was seen running (or its read failed): read it whole now.
    entry.logs ??= readPodLogs(this.logReader, entry, false, this.opts.logger);
    let timer: NodeJS.Timeout | undefined;
    const drained = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.opts.logger.warn("a finished workload Pod's output did not arrive in time; ending without the rest", {
          pod: entry.pod,
        });
        resolve();
      }, this.opts.logDrainMs ?? 10_000);
      timer.unref();
    });
    void Promise.race([entry.logs.done, drained]).then(() => {
      clearTimeout(timer);
      this.end(deploymentId, entry, code, null);
      // A finished Pod is deleted, so that its values Secret goes with it now,
      // not whenever finished Pods are collected.
      this.api.deleteNamespacedPod({ name: entry.pod, namespace: entry.namespace }).catch((err: unknown) => {
        if (apiStatus(err) !== 404)
          this.opts.logger.warn('could not delete a finished workload Pod', { pod: entry.pod, status: apiStatus(err) });
      });
    });
    return true;
  }

  /**
   * After `delayMs`: reads the Pod (a change between two watches is not
   * missed), then watches it from that version until it ends; a watch that
   * closes or fails is opened again the same way.
   */
  private track(deploymentId: string, entry: Running, delayMs: number): void {
    const again = () => {
      if (this.pods.get(deploymentId) !== entry) return;
      this.track(deploymentId, entry, this.opts.rewatchMs ?? 2000);
    };
    const open = async () => {
      if (this.pods.get(deploymentId) !== entry) return;
      entry.phase = 'opening';
      let pod: V1Pod;
      try {
        pod = await this.api.readNamespacedPod({ name: entry.pod, namespace: entry.namespace });
      } catch (err) {
        if (apiStatus(err) === 404) {
          this.observe(deploymentId, entry, undefined, true);
          return;
        }
        this.opts.logger.warn('could not read a workload Pod', { pod: entry.pod, status: apiStatus(err) });
        again();
        return;
      }
      if (this.observe(deploymentId, entry, pod, false)) return;
      const token = {};
      entry.watchToken = token;
      try {
        entry.phase = 'watching';
        const controller = await this.watcher.watch(
          `/api/v1/namespaces/${encodeURIComponent(entry.namespace)}/pods`,
          {
            fieldSelector: `metadata.name=${entry.pod}`,
            resourceVersion: pod.metadata?.resourceVersion,
            allowWatchBookmarks: false,
          },
          (type, obj: V1Pod) => {
            if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED')
              this.observe(deploymentId, entry, obj, type === 'DELETED');
          },
          (err: unknown) => {
            if (entry.watchToken !== token) return;
            entry.watchToken = undefined;
            if (err) this.opts.logger.warn('a workload Pod watch failed; watching again', { pod: entry.pod });
            again();
          },
        );
        // The deployment may have ended (or the watch been replaced) while it was being opened.
        if (this.pods.get(deploymentId) !== entry || entry.watchToken !== token) controller.abort();
        else entry.watch = controller;
      } catch {
        if (entry.watchToken !== token) return;
        entry.watchToken = undefined;
        this.opts.logger.warn('could not watch a workload Pod; trying again', { pod: entry.pod });
        again();
      }
    };
    clearTimeout(entry.timer);
    entry.watchToken = undefined;
    entry.watch?.abort();
    entry.watch = undefined;
    entry.phase = 'waiting';
    entry.timer = setTimeout(() => void open(), delayMs);
    // The service's own handles keep it alive; a runtime alone does not.
    entry.timer.unref();
  }

  async stop(deploymentId: string, reason: string): Promise<boolean> {
    const p = this.pods.get(deploymentId);
    if (!p || p.stopReason !== undefined) return false;
    p.stopReason = reason;
    try {
      await this.api.deleteNamespacedPod({ name: p.pod, namespace: p.namespace });
    } catch (err) {
      if (apiStatus(err) !== 404) {
        p.stopReason = undefined;
        throw apiError(err, `deleting Pod ${p.pod}`);
      }
    }
    // An open watch, or one being opened from a read made before the
    // deletion, reports it; between two watches, look at once rather than
    // after the reopen delay.
    if (p.phase === 'waiting') this.track(deploymentId, p, 0);
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<void>((resolve) => {
      timer = setTimeout(
        () => {
          this.opts.logger.warn('a deleted workload Pod was not seen gone in time; reporting it stopped', {
            pod: p.pod,
          });
          this.end(deploymentId, p, null, 'SIGKILL');
          resolve();
        },
        this.opts.stopWaitMs ?? Math.max(60_000, ((this.opts.terminationGraceSeconds ?? 30) + 30) * 1000),
      );
    });
    await Promise.race([p.done, gaveUp]);
    clearTimeout(timer);
    return true;
  }

  running(): { deploymentId: string; workloadId: string }[] {
    return [...this.pods].map(([deploymentId, p]) => ({ deploymentId, workloadId: p.workloadId }));
  }

  async stopAll(reason: string): Promise<void> {
    await Promise.all([...this.pods.keys()].map((id) => this.stop(id, reason)));
  }
}
