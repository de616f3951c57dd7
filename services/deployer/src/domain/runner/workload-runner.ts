import { authorize } from '@latchkey/authz';
import { open } from '@latchkey/crypto';
import { LatchkeyError } from '@latchkey/errors';
import { checkDomainName, subjects } from '@latchkey/events';
import type { WorkloadOutcome, WorkloadResolved, WorkloadStopRequested } from '@latchkey/events';
import type { Logger } from '@latchkey/logger';
import type { WorkloadServiceDeps } from '../deployer-deps.js';
import type { DeploymentRecord, WorkloadRecord } from '../deployment-types.js';
import { DEPLOYMENT_ERRORS } from '../deployments/deployment-errors.js';
import type { BusAcceptance } from '../deployments/bus-acceptance.js';
import { DEFAULT_OUTPUT_QUOTA_BYTES, OutputLog } from './output-log.js';
import type { RunHooks } from '../ports.js';
import { resolvedMismatch, type BusOrigin } from '../deployments/resolution-check.js';
import { renderForRuntime } from '../workload-spec.js';
import { newWorkloadToken, workloadTokenHash } from '../runtime/workload-token.js';
import { findWorkload } from '../workloads/workload-definitions.js';
import { workloadNotRunning } from '../workloads/workload-errors.js';

/** What `stop` did: the deployments it applies to, or the last one when it was already stopped. */
export interface StopResult {
  deployments: DeploymentRecord[];
  alreadyStopped: boolean;
}

/** A resolved event's sealed values, opened: by reference id; or why they cannot be used. */
type Opened = { values: Map<string, string> } | { problem: string; audit?: boolean };

/**
 * What runs on this replica: starts a resolved deployment with its values
 * (then forgets them), stores its output, records its end, stops it when
 * asked or replaced, and ends the deployments recorded as running here that
 * do not (lost).
 */
export class WorkloadRunner {
  readonly output: OutputLog;
  /**
   * Deployments this replica is claiming or starting (not yet in
   * runtime.running()), with how many deliveries of their resolution are at it.
   */
  private readonly startingHere = new Map<string, number>();
  /** Deployments that ended here and whose end is being recorded (no longer in runtime.running()). */
  private readonly endingHere = new Set<string>();
  private readonly exits = new Set<Promise<void>>();

  constructor(
    private readonly deps: WorkloadServiceDeps,
    private readonly bus: BusAcceptance,
  ) {
    this.output = new OutputLog({
      repo: deps.repo,
      logger: deps.logger,
      quotaBytes: deps.outputQuotaBytes ?? DEFAULT_OUTPUT_QUOTA_BYTES,
    });
  }

  /**
   * `latchkey stop`: stops the workload's deployments wherever they run.
   * One still resolving is stopped at once; one starting or running is
   * marked, and the replica running it stops it (it hears
   * `workload.stop_requested`, and compares what it runs with the database
   * periodically in case it missed that). Asking again is harmless; asking
   * when nothing runs is an error, unless the last deployment was stopped.
   */
  async stop(principal: string, domain: string, name: string): Promise<StopResult> {
    checkDomainName(domain);
    await authorize(this.deps.authorizer, { principal, action: 'workload.deploy', domain, resource: name });
    const workload = await findWorkload(this.deps.repo, domain, name);
    const { cancelled, stopping } = await this.deps.repo.requestStop(workload.id, principal);
    if (stopping.length > 0) this.deps.onEvents();
    // What runs here stops now, without waiting for the event.
    for (const d of stopping) this.stopHere(d.id, `stopped by ${d.stopRequestedBy ?? principal}`);
    if (cancelled.length > 0 || stopping.length > 0) {
      return { deployments: [...cancelled, ...stopping], alreadyStopped: false };
    }
    const last = await this.deps.repo.latestDeployment(workload.id);
    if (last?.status === 'stopped') return { deployments: [last], alreadyStopped: true };
    throw workloadNotRunning(domain, name, last);
  }

  /** `workload.stop_requested`: stop the deployment if it runs here. */
  onStopRequested(ev: WorkloadStopRequested): void {
    this.stopHere(ev.deploymentId, `stopped by ${ev.by}`);
  }

  /**
   * Stops what runs here and was asked to stop (a stop_requested event this
   * replica missed). Returns how many it stopped.
   */
  async reconcileStops(): Promise<number> {
    const running = this.deps.runtime.running().map((r) => r.deploymentId);
    const asked = await this.deps.repo.stopRequested(running);
    for (const r of asked) this.stopHere(r.id, `stopped by ${r.by || 'a stop request'}`);
    return asked.length;
  }

  /**
   * Compares what the database says runs on this replica with what does:
   * a deployment recorded as starting or running here that does not (this
   * replica restarted after a crash, or the end of a run could not be
   * recorded) is ended as lost, and whatever an earlier run of this replica
   * left of it (an orphaned process, a Pod) is stopped. Run at start, before
   * anything is started, and then periodically. Returns how many it ended.
   */
  async reconcileRunning(): Promise<number> {
    const held = await this.deps.repo.heldBy(this.deps.runner);
    const here = new Set(this.deps.runtime.running().map((r) => r.deploymentId));
    let ended = 0;
    for (const d of held) {
      if (here.has(d.id) || this.startingHere.has(d.id) || this.endingHere.has(d.id)) continue;
      if (await this.endLost(d)) ended++;
    }
    return ended;
  }

  private async endLost(d: DeploymentRecord): Promise<boolean> {
    try {
      await this.deps.runtime.reclaim?.(d);
    } catch (err) {
      // Still recorded as running until what is left of it is surely stopped: the next round tries again.
      this.deps.logger.warn('could not stop what is left of a lost deployment; trying again later', {
        deploymentId: d.id,
        err,
      });
      return false;
    }
    await this.deps.repo.markEnded(
      d.id,
      'exited',
      null,
      `lost: its deployer replica ${this.deps.runner} no longer runs it (restarted, or the end was not recorded); deploy it again to run it`,
    );
    this.deps.logger.warn('a deployment recorded as running here does not run: ended as lost', {
      deploymentId: d.id,
      workload: d.workload,
      domain: d.domain,
    });
    return true;
  }

  private stopHere(deploymentId: string, reason: string): void {
    if (!this.deps.runtime.running().some((r) => r.deploymentId === deploymentId)) return;
    this.track(
      this.deps.runtime
        .stop(deploymentId, reason)
        .then(() => undefined)
        .catch((err: unknown) => this.deps.logger.warn('could not stop a deployment', { deploymentId, err })),
    );
  }

  /**
   * `workload.resolved`: open the values, start the workload, forget them.
   * Only for a deployment recorded here, in its domain, with exactly its
   * references; anything else is refused (a permanent error: the message is
   * terminated), logged and audited, and starts nothing.
   */
  async onResolved(eventId: string, ev: WorkloadResolved, origin: BusOrigin = {}): Promise<void> {
    await this.bus.acceptOnly('workload.resolved', eventId, ev.deploymentId, ev.domain, origin, (d) =>
      resolvedMismatch(d, ev, origin, subjects.resolved, this.deps.secretsV2 !== false),
    );
    // Marked before the claim commits, so that the running-deployments check never sees it claimed but not starting.
    this.startingHere.set(ev.deploymentId, (this.startingHere.get(ev.deploymentId) ?? 0) + 1);
    try {
      // The workload's token is made now and its hash recorded with the claim (one transaction).
      const token = this.deps.workloadApi ? newWorkloadToken() : undefined;
      const claimed = await this.deps.repo.claimForStart(
        eventId,
        ev.deploymentId,
        this.deps.runner,
        ev.versions,
        [...ev.warnings, ...(this.deps.runtime.warnings ?? [])],
        token === undefined ? undefined : workloadTokenHash(token),
      );
      if (!claimed) return;
      await this.startClaimed(claimed.deployment, claimed.workload, ev, eventId, origin, token);
    } finally {
      const n = (this.startingHere.get(ev.deploymentId) ?? 1) - 1;
      if (n > 0) this.startingHere.set(ev.deploymentId, n);
      else this.startingHere.delete(ev.deploymentId);
    }
  }

  /** The sealed values, opened and checked to answer exactly the references the versions name. */
  private openValues(deployment: DeploymentRecord, ev: WorkloadResolved, log: Logger): Opened {
    let values: Map<string, string>;
    try {
      const plain = open(this.deps.sealKeys, ev.sealed, ev.deploymentId);
      values = new Map(Object.entries(JSON.parse(plain.toString('utf8')) as Record<string, string>));
      plain.fill(0);
    } catch (err) {
      const code = err instanceof LatchkeyError ? err.code : DEPLOYMENT_ERRORS.cryptoError;
      log.error('cannot open sealed values', { code });
      return { problem: `cannot open the sealed values (${code})` };
    }
    // The sealed values answer exactly the references the versions named (checked against the deployment).
    const named = new Set(ev.versions.map((v) => v.refId));
    if (values.size !== named.size || [...values.keys()].some((k) => !named.has(k))) {
      values.clear();
      return {
        problem: `the sealed values do not answer exactly the references of deployment ${deployment.id}`,
        audit: true,
      };
    }
    return { values };
  }

  private async startClaimed(
    deployment: DeploymentRecord,
    workload: WorkloadRecord,
    ev: WorkloadResolved,
    eventId: string,
    origin: BusOrigin,
    token: string | undefined,
  ): Promise<void> {
    const log = this.deps.logger.child({
      deploymentId: deployment.id,
      workload: workload.name,
      domain: workload.domain,
    });
    const opened = this.openValues(deployment, ev, log);
    if ('problem' in opened) {
      if (!opened.audit) return this.fail(deployment, [opened.problem]);
      await this.bus.audited('workload.resolved', eventId, deployment.id, deployment.domain, origin, opened.problem);
      return this.fail(deployment, [`${opened.problem}: refused (audit record bus.rejected)`]);
    }
    const { values } = opened;
    const command = workload.spec.run?.command;
    if (!command) return this.fail(deployment, ['the workload has no run.command']);
    const rendered = renderForRuntime(workload.spec, values);
    const api = this.workloadApi(token);
    // The exit of a quick workload is recorded only after its start is.
    let started!: () => void;
    const startRecorded = new Promise<void>((resolve) => (started = resolve));
    try {
      const { pid } = await this.deps.runtime.start(
        {
          deploymentId: deployment.id,
          workloadId: workload.id,
          workload: workload.name,
          domain: workload.domain,
          command,
          ...(workload.spec.run?.image ? { image: workload.spec.run.image } : {}),
          ...(workload.spec.run?.resources ? { resources: workload.spec.run.resources } : {}),
          // The workload's own names cannot shadow its token or the API's address.
          env: { ...rendered.env, ...api?.env },
          sparkConf: rendered.sparkConf,
          secrets: [...values.values(), ...rendered.literalSecrets, ...(api ? [api.token] : [])],
          ...(api?.caPem ? { apiCaPem: api.caPem } : {}),
        },
        this.hooks(deployment.id, startRecorded),
      );
      values.clear();
      const live = await this.deps.repo.markDeployed(deployment, pid);
      if (live === 'deployed') this.deps.onEvents();
      // Stopped while it started: it never went live.
      if (live === 'stop_requested') this.stopHere(deployment.id, 'stopped: a stop was asked for while it started');
      log.info('workload started', { pid, versions: ev.versions.map((v) => `${v.scope}/${v.key}@${v.version}`) });
    } catch (err) {
      values.clear();
      const message = err instanceof LatchkeyError ? err.message : 'the workload could not be started';
      await this.fail(deployment, [message]);
    } finally {
      started();
    }
  }

  /**
   * What goes into the workload's environment with its token (whose hash
   * the claim recorded, before the workload starts); undefined when
   * workloads get no token.
   */
  private workloadApi(
    token: string | undefined,
  ): { env: Record<string, string>; token: string; caPem?: string } | undefined {
    const api = this.deps.workloadApi;
    if (!api || token === undefined) return undefined;
    return {
      token,
      env: { LATCHKEY_WORKLOAD_TOKEN: token, ...(api.url ? { LATCHKEY_API_URL: api.url } : {}) },
      ...(api.caPem ? { caPem: api.caPem } : {}),
    };
  }

  /** The runtime's hooks for a deployment: its output to the log; its end recorded once its start is. */
  private hooks(deploymentId: string, startRecorded: Promise<void>): RunHooks {
    return {
      onLine: (stream, line) => this.output.add(deploymentId, stream, line),
      onExit: (code, signal, stopReason) => {
        this.endingHere.add(deploymentId);
        this.track(
          startRecorded
            .then(() => this.onExit(deploymentId, code, signal, stopReason))
            .finally(() => this.endingHere.delete(deploymentId)),
        );
      },
    };
  }

  /** Another deployment of a workload went live: stop older ones running here. */
  async onDeployed(ev: WorkloadOutcome): Promise<void> {
    for (const r of this.deps.runtime.running()) {
      if (r.workloadId === ev.workloadId && r.deploymentId !== ev.deploymentId) {
        await this.deps.runtime.stop(r.deploymentId, `replaced by deployment ${ev.deploymentId}`);
      }
    }
  }

  private async fail(d: DeploymentRecord, reasons: string[]): Promise<void> {
    if (await this.deps.repo.markFailed(d, reasons)) this.deps.onEvents();
  }

  private track(p: Promise<void>): void {
    this.exits.add(p);
    void p.finally(() => this.exits.delete(p));
  }

  /** Stops every workload running here (the deployer is shutting down) and records it. */
  async stopAll(): Promise<void> {
    await this.deps.runtime.stopAll('the deployer running it stopped');
    await Promise.allSettled([...this.exits]);
    await this.output.flush();
  }

  private async onExit(
    deploymentId: string,
    code: number | null,
    signal: string | null,
    stopReason?: string,
  ): Promise<void> {
    // Every line the runtime reported before the exit is stored before the end is recorded.
    await this.output.flush();
    this.output.forget(deploymentId);
    try {
      if (stopReason) await this.deps.repo.markEnded(deploymentId, 'stopped', null, stopReason);
      else await this.deps.repo.markEnded(deploymentId, 'exited', code, signal ? `ended by ${signal}` : undefined);
    } catch (err) {
      this.deps.logger.warn('could not record the end of a workload', { deploymentId, err });
    }
  }
}
