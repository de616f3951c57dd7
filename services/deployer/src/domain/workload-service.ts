import { open, type SealKeyPair } from '@latchkey/crypto';
import { invalidArgument, LatchkeyError, notFound } from '@latchkey/errors';
import { auditRecord, DOMAIN_NAME, GLOBAL_SCOPE, subjects } from '@latchkey/events';
import type {
  PlannedReference,
  SecretChanged,
  WorkloadOutcome,
  WorkloadResolutionFailed,
  WorkloadResolutionRetrying,
  WorkloadResolved,
  WorkloadStopRequested,
} from '@latchkey/events';
import { authorize, type Authorizer } from '@latchkey/authz';
import type { Logger } from '@latchkey/logger';
import {
  type DeploymentRecord,
  type DeploymentTrigger,
  type LogLineRecord,
  type WorkloadRecord,
  type WorkloadView,
} from './deployment-types.js';
import type { ResolutionPlanner, WorkloadRepo, WorkloadRuntime } from './ports.js';
import {
  DEFAULT_OUTPUT_QUOTA_BYTES,
  LOGS_PAGE_MAX_BYTES,
  logsPageSize,
  OutputLog,
  pageTokenAfter,
  seqOfPageToken,
} from './output-log.js';
import { checkReferences } from './reference-check.js';
import {
  resolutionFailedMismatch,
  resolvedMismatch,
  type BusOrigin,
  type RecordedDeployment,
} from './resolution-check.js';
import {
  parseWorkloadSpec,
  referencesOf,
  renderForRuntime,
  specWarnings,
  WORKLOAD_NAME,
  type WorkloadSpec,
} from './workload-spec.js';

function validDomain(domain: string): void {
  if (!DOMAIN_NAME.test(domain)) {
    throw invalidArgument(
      'domain.invalid_name',
      `invalid domain name ${JSON.stringify(domain.slice(0, 80))}: give --domain D`,
    );
  }
}

export interface WorkloadServiceDeps {
  repo: WorkloadRepo;
  authorizer: Authorizer;
  runtime: WorkloadRuntime;
  sealKeys: ReadonlyMap<string, SealKeyPair>;
  runner: string;
  logger: Logger;
  /** Called after events were committed (kicks the outbox relay). */
  onEvents: () => void;
  /** The resolver, for the reference check on apply and for dry runs; without it neither is done. */
  planner?: ResolutionPlanner;
  /** How long apply waits for the reference check (default 5 s) and a dry run for its resolution (default 30 s). */
  checkTimeoutMs?: number;
  dryRunTimeoutMs?: number;
  /** The time (when a workload became stale); tests inject one. */
  clock?: () => Date;
  /** Per deployment, the most output kept (bytes; the oldest lines are dropped). Default DEFAULT_OUTPUT_QUOTA_BYTES. */
  outputQuotaBytes?: number;
}

/** A page of a deployment's output. */
export interface LogsPage {
  id: string;
  lines: LogLineRecord[];
  /** Asks for the lines after these (also those still to come). */
  nextPageToken: string;
  /** More lines are stored after these now. */
  more: boolean;
  /** The deployment has ended: no line will be added to what is stored. */
  ended: boolean;
  /** Lines between the page token and the first line returned that are no longer kept (quota, retention). */
  droppedLines: number;
}

/** What `redeploy` did for one workload: a new deployment, or why there is none. */
export type RedeployResult =
  { workload: string; deployment: DeploymentRecord } | { workload: string; code: string; message: string };

/** What `stop` did: the deployments it applies to, or the last one when it was already stopped. */
export interface StopResult {
  deployments: DeploymentRecord[];
  alreadyStopped: boolean;
}

/** What a deployment would do, from a dry run: per reference, what would be used. */
export interface DeploymentPlanResult {
  domain: string;
  workload: string;
  ok: boolean;
  references: PlannedReference[];
  warnings: string[];
}

/** Why a workload cannot be started at all, whatever its references. */
function notStartable(name: string, spec: WorkloadSpec): string | undefined {
  return spec.run ? undefined : `workload ${name} has no run.command: the process runtime needs one`;
}

function assertStartable(w: WorkloadRecord): void {
  const problem = notStartable(w.name, w.spec);
  if (problem) throw new LatchkeyError('workload.no_command', problem, { kind: 'failed_precondition' });
}

export class WorkloadService {
  private readonly output: OutputLog;
  /**
   * Deployments this replica is claiming or starting (not yet in
   * runtime.running()), with how many deliveries of their resolution are at it.
   */
  private readonly startingHere = new Map<string, number>();
  /** Deployments that ended here and whose end is being recorded (no longer in runtime.running()). */
  private readonly endingHere = new Set<string>();

  constructor(private readonly deps: WorkloadServiceDeps) {
    this.output = new OutputLog({
      repo: deps.repo,
      logger: deps.logger,
      quotaBytes: deps.outputQuotaBytes ?? DEFAULT_OUTPUT_QUOTA_BYTES,
    });
  }

  /** `groups`: the principal's groups, for the resolver's check of the references. */
  async apply(
    principal: string,
    domain: string,
    specJson: string,
    groups: readonly string[] = [],
  ): Promise<{ workload: WorkloadRecord; warnings: string[] }> {
    validDomain(domain);
    await authorize(this.deps.authorizer, { principal, action: 'workload.manage', domain });
    const spec = parseWorkloadSpec(specJson, domain);
    const references = referencesOf(spec, domain);
    // The applier becomes the only authority the redeploy policy acts with.
    const workload = await this.deps.repo.upsertWorkload(domain, spec, references, {
      principal,
      groups: [...groups],
    });
    const checked = await checkReferences(
      this.deps.planner,
      { domain, workload: spec.name, principal, ...(groups.length > 0 ? { groups: [...groups] } : {}), references },
      this.deps.checkTimeoutMs ?? 5000,
    );
    return { workload, warnings: [...specWarnings(spec), ...checked] };
  }

  async get(
    principal: string,
    domain: string,
    name: string,
  ): Promise<{ workload: WorkloadRecord; live?: DeploymentRecord; last?: DeploymentRecord; warnings: string[] }> {
    validDomain(domain);
    await authorize(this.deps.authorizer, { principal, action: 'workload.read', domain, resource: name });
    const workload = await this.mustFind(domain, name);
    const last = await this.deps.repo.latestDeployment(workload.id);
    const live =
      workload.lastDeploymentId === null
        ? undefined
        : last?.id === workload.lastDeploymentId
          ? last
          : await this.deps.repo.getDeployment(workload.lastDeploymentId);
    return { workload, live, last, warnings: specWarnings(workload.spec) };
  }

  /**
   * The workloads of `domain`, or (without one) of every domain in which the
   * principal may read workloads; only the stale ones with `staleOnly`.
   */
  async list(
    principal: string,
    domain: string | undefined,
    opts: { staleOnly?: boolean; groups?: readonly string[] } = {},
  ): Promise<WorkloadView[]> {
    let domains: string[];
    if (domain !== undefined && domain !== '') {
      validDomain(domain);
      await authorize(this.deps.authorizer, { principal, action: 'workload.read', domain });
      domains = [domain];
    } else {
      // Only domains the principal may read, and nothing about the others.
      const candidates = await this.deps.repo.workloadDomains({ staleOnly: opts.staleOnly === true });
      const decisions = await this.deps.authorizer.checkBatch(
        candidates.map((d) => ({
          principal,
          action: 'workload.read',
          domain: d,
          ...(opts.groups && opts.groups.length > 0 ? { groups: opts.groups } : {}),
        })),
      );
      domains = candidates.filter((_, i) => decisions[i]?.allowed === true);
    }
    return this.deps.repo.listWorkloadViews(domains, { staleOnly: opts.staleOnly === true });
  }

  /** `groups`: the principal's groups, recorded with the deployment for the resolver's checks. */
  async deploy(
    principal: string,
    domain: string,
    name: string,
    groups: readonly string[] = [],
    trigger: DeploymentTrigger = 'deploy',
  ): Promise<DeploymentRecord> {
    validDomain(domain);
    await authorize(this.deps.authorizer, { principal, action: 'workload.deploy', domain, resource: name });
    const workload = await this.mustFind(domain, name);
    return this.deployFound(principal, workload, groups, trigger);
  }

  private async deployFound(
    principal: string,
    workload: WorkloadRecord,
    groups: readonly string[],
    trigger: DeploymentTrigger,
  ): Promise<DeploymentRecord> {
    assertStartable(workload);
    const d = await this.deps.repo.createDeployment(
      workload,
      principal,
      referencesOf(workload.spec, workload.domain),
      groups,
      trigger,
    );
    this.deps.onEvents();
    return d;
  }

  /**
   * `latchkey redeploy`: a new deployment by the caller, of one workload
   * (`name`) or of every stale workload of the domain (`stale`), which then
   * receives the secrets' current versions. With `stale`, each workload gets
   * its own result, and one whose deployment is already on its way is left
   * alone (not deployed twice).
   */
  async redeploy(
    principal: string,
    domain: string,
    target: { name?: string; stale?: boolean },
    groups: readonly string[] = [],
  ): Promise<RedeployResult[]> {
    validDomain(domain);
    const name = target.name ?? '';
    if (name !== '' && target.stale === true) {
      throw invalidArgument('redeploy.invalid_target', 'give either a workload NAME or --stale, not both');
    }
    if (name === '' && target.stale !== true) {
      throw invalidArgument(
        'redeploy.invalid_target',
        'give the workload NAME to redeploy, or --stale for every stale one',
      );
    }
    if (name !== '') {
      return [{ workload: name, deployment: await this.deploy(principal, domain, name, groups, 'redeploy') }];
    }
    await authorize(this.deps.authorizer, { principal, action: 'workload.deploy', domain });
    const stale = await this.deps.repo.listWorkloadViews([domain], { staleOnly: true });
    const results: RedeployResult[] = [];
    const inFlight = (d: DeploymentRecord): RedeployResult => ({
      workload: d.workload,
      code: 'redeploy.in_flight',
      message: `deployment ${d.id} is already ${d.status}: not redeployed again`,
    });
    for (const { workload: w } of stale) {
      try {
        await authorize(this.deps.authorizer, { principal, action: 'workload.deploy', domain, resource: w.name });
        assertStartable(w);
        // Decided under the workload's lock: another replica, person or
        // auto policy may have redeployed it since the list was read.
        const created = await this.deps.repo.createRedeployOfStale(
          w,
          principal,
          referencesOf(w.spec, w.domain),
          groups,
        );
        if ('deployment' in created) {
          this.deps.onEvents();
          results.push({ workload: w.name, deployment: created.deployment });
        } else if (created.skip === 'in_flight') {
          results.push(inFlight(created.inFlight));
        } else {
          results.push({
            workload: w.name,
            code: 'redeploy.not_stale',
            message: 'redeployed by someone else since the stale list was read: not redeployed again',
          });
        }
      } catch (err) {
        if (!(err instanceof LatchkeyError) || err.retryable) throw err;
        results.push({ workload: w.name, code: err.code, message: err.message });
      }
    }
    return results;
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
    validDomain(domain);
    await authorize(this.deps.authorizer, { principal, action: 'workload.deploy', domain, resource: name });
    const workload = await this.mustFind(domain, name);
    const { cancelled, stopping } = await this.deps.repo.requestStop(workload.id, principal);
    if (stopping.length > 0) this.deps.onEvents();
    // What runs here stops now, without waiting for the event.
    for (const d of stopping) this.stopHere(d.id, `stopped by ${d.stopRequestedBy ?? principal}`);
    if (cancelled.length > 0 || stopping.length > 0) {
      return { deployments: [...cancelled, ...stopping], alreadyStopped: false };
    }
    const last = await this.deps.repo.latestDeployment(workload.id);
    if (last?.status === 'stopped') return { deployments: [last], alreadyStopped: true };
    throw new LatchkeyError(
      'workload.not_running',
      last
        ? `workload ${name} has nothing to stop: its last deployment ${last.id} ${last.status === 'exited' ? `exited${last.exitCode === null ? '' : ` with code ${last.exitCode}`}` : last.status}; deploy it with latchkey deploy ${name} --domain ${domain}`
        : `workload ${name} has nothing to stop: it was never deployed`,
      { kind: 'failed_precondition' },
    );
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
      try {
        await this.deps.runtime.reclaim?.(d);
      } catch (err) {
        // Still recorded as running until what is left of it is surely stopped: the next round tries again.
        this.deps.logger.warn('could not stop what is left of a lost deployment; trying again later', {
          deploymentId: d.id,
          err,
        });
        continue;
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
      ended++;
    }
    return ended;
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
   * Deploy --dry-run: the whole resolution and permission check of a
   * deployment, done by the resolver, which reads the values and keeps them:
   * the answer says per reference which scope and version would be used.
   * Nothing is recorded, published or started.
   */
  async dryRun(
    principal: string,
    domain: string,
    name: string,
    groups: readonly string[] = [],
  ): Promise<DeploymentPlanResult> {
    validDomain(domain);
    await authorize(this.deps.authorizer, { principal, action: 'workload.deploy', domain, resource: name });
    const workload = await this.mustFind(domain, name);
    const problem = notStartable(name, workload.spec);
    const warnings = [...specWarnings(workload.spec), ...(problem ? [`${problem}: deploy would be refused`] : [])];
    const references = referencesOf(workload.spec, domain);
    if (references.length === 0) return { domain, workload: name, ok: !problem, references: [], warnings };
    if (!this.deps.planner) {
      throw new LatchkeyError('resolver.unavailable', 'this deployer has no resolver to ask: nothing was checked', {
        kind: 'unavailable',
      });
    }
    const reply = await this.deps.planner.plan(
      {
        mode: 'dry_run',
        domain,
        workload: name,
        principal,
        ...(groups.length > 0 ? { groups: [...groups] } : {}),
        references,
      },
      this.deps.dryRunTimeoutMs ?? 30_000,
    );
    if (!reply.ok) throw new LatchkeyError(reply.code, `the dry run could not be done: ${reply.message}`);
    return {
      domain,
      workload: name,
      ok: !problem && reply.references.every((r) => r.ok),
      references: reply.references,
      warnings: [...warnings, ...reply.warnings],
    };
  }

  async getDeployment(principal: string, domain: string, id: string): Promise<DeploymentRecord> {
    validDomain(domain);
    await authorize(this.deps.authorizer, { principal, action: 'workload.read', domain });
    const d = /^[0-9a-f-]{36}$/.test(id) ? await this.deps.repo.getDeployment(id) : undefined;
    if (!d || d.domain !== domain)
      throw notFound('deployment.not_found', `deployment ${id.slice(0, 40)} not found in domain ${domain}`);
    return d;
  }

  /**
   * A page of a deployment's stored output (its workload's last deployment
   * when `deploymentId` is empty): up to `pageSize` lines after the page
   * token, cut short before LOGS_PAGE_MAX_BYTES. Following output is asking
   * again with the returned token until `ended`.
   */
  async logs(
    principal: string,
    domain: string,
    name: string,
    deploymentId: string,
    page: { pageToken?: string; pageSize?: number } = {},
  ): Promise<LogsPage> {
    validDomain(domain);
    const afterSeq = seqOfPageToken(page.pageToken ?? '');
    const limit = logsPageSize(page.pageSize);
    await authorize(this.deps.authorizer, { principal, action: 'workload.read', domain, resource: name });
    const workload = await this.mustFind(domain, name);
    const d = deploymentId
      ? /^[0-9a-f-]{36}$/.test(deploymentId)
        ? await this.deps.repo.getDeployment(deploymentId)
        : undefined
      : await this.deps.repo.latestDeployment(workload.id);
    if (!d || d.workloadId !== workload.id) {
      throw notFound(
        'deployment.not_found',
        deploymentId
          ? `deployment ${deploymentId.slice(0, 40)} not found for ${name}`
          : `workload ${name} has not been deployed`,
      );
    }
    // Read before the lines: a deployment seen ended has all its output stored (its end is recorded after it).
    const ended = d.status === 'failed' || d.status === 'exited' || d.status === 'stopped';
    const { lines, more } = await this.deps.repo.readLogs(d.id, afterSeq, limit, LOGS_PAGE_MAX_BYTES);
    const last = lines.at(-1)?.seq ?? afterSeq;
    return {
      id: d.id,
      lines,
      nextPageToken: pageTokenAfter(last),
      more,
      ended,
      droppedLines: lines.length > 0 ? lines[0]!.seq - afterSeq - 1 : 0,
    };
  }

  /**
   * `workload.resolved`: open the values, start the workload, forget them.
   * Only for a deployment recorded here, in its domain, with exactly its
   * references; anything else is refused (a permanent error: the message is
   * terminated), logged and audited, and starts nothing.
   */
  async onResolved(eventId: string, ev: WorkloadResolved, origin: BusOrigin = {}): Promise<void> {
    await this.#acceptOnly('workload.resolved', eventId, ev.deploymentId, ev.domain, origin, (d) =>
      resolvedMismatch(d, ev, origin, subjects.resolved),
    );
    // Marked before the claim commits, so that the running-deployments check never sees it claimed but not starting.
    this.startingHere.set(ev.deploymentId, (this.startingHere.get(ev.deploymentId) ?? 0) + 1);
    try {
      const claimed = await this.deps.repo.claimForStart(eventId, ev.deploymentId, this.deps.runner, ev.versions, [
        ...ev.warnings,
        ...(this.deps.runtime.warnings ?? []),
      ]);
      if (!claimed) return;
      await this.startClaimed(claimed.deployment, claimed.workload, ev, eventId, origin);
    } finally {
      const n = (this.startingHere.get(ev.deploymentId) ?? 1) - 1;
      if (n > 0) this.startingHere.set(ev.deploymentId, n);
      else this.startingHere.delete(ev.deploymentId);
    }
  }

  private async startClaimed(
    deployment: DeploymentRecord,
    workload: WorkloadRecord,
    ev: WorkloadResolved,
    eventId: string,
    origin: BusOrigin,
  ): Promise<void> {
    const log = this.deps.logger.child({
      deploymentId: deployment.id,
      workload: workload.name,
      domain: workload.domain,
    });
    let values: Map<string, string>;
    try {
      const plain = open(this.deps.sealKeys, ev.sealed, ev.deploymentId);
      values = new Map(Object.entries(JSON.parse(plain.toString('utf8')) as Record<string, string>));
      plain.fill(0);
    } catch (err) {
      const code = err instanceof LatchkeyError ? err.code : 'crypto.error';
      log.error('cannot open sealed values', { code });
      await this.fail(deployment, [`cannot open the sealed values (${code})`]);
      return;
    }
    // The sealed values answer exactly the references the versions named (checked against the deployment).
    const named = new Set(ev.versions.map((v) => v.refId));
    if (values.size !== named.size || [...values.keys()].some((k) => !named.has(k))) {
      values.clear();
      const problem = `the sealed values do not answer exactly the references of deployment ${deployment.id}`;
      await this.#audited('workload.resolved', eventId, deployment.id, deployment.domain, origin, problem);
      await this.fail(deployment, [`${problem}: refused (audit record bus.rejected)`]);
      return;
    }
    const command = workload.spec.run?.command;
    if (!command) {
      await this.fail(deployment, ['the workload has no run.command']);
      return;
    }
    const rendered = renderForRuntime(workload.spec, values);
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
          env: rendered.env,
          sparkConf: rendered.sparkConf,
          secrets: [...values.values(), ...rendered.literalSecrets],
        },
        {
          onLine: (stream, line) => this.output.add(deployment.id, stream, line),
          onExit: (code, signal, stopReason) => {
            this.endingHere.add(deployment.id);
            this.track(
              startRecorded
                .then(() => this.onExit(deployment.id, code, signal, stopReason))
                .finally(() => this.endingHere.delete(deployment.id)),
            );
          },
        },
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

  /** `workload.resolution_retrying`: the deployment waits for an unavailable backend, and says so. */
  async onResolutionRetrying(eventId: string, ev: WorkloadResolutionRetrying, origin: BusOrigin = {}): Promise<void> {
    await this.#acceptOnly('workload.resolution_retrying', eventId, ev.deploymentId, ev.domain, origin, (d) =>
      resolutionFailedMismatch(d, ev, origin, subjects.resolutionRetrying, true),
    );
    const reasons = [
      `waiting: resolution attempt ${ev.attempt} of ${ev.maxAttempts} found a backend unavailable; retrying with backoff`,
      ...ev.failures.map((f) => `${f.key} (${f.refId}): ${f.message} [${f.code}]`),
    ];
    await this.deps.repo.markRetrying(ev.deploymentId, ev.attempt, reasons);
  }

  /** `workload.resolution_failed`: checked against the deployment as a resolved event is. */
  async onResolutionFailed(eventId: string, ev: WorkloadResolutionFailed, origin: BusOrigin = {}): Promise<void> {
    await this.#acceptOnly('workload.resolution_failed', eventId, ev.deploymentId, ev.domain, origin, (d) =>
      resolutionFailedMismatch(d, ev, origin, subjects.resolutionFailed),
    );
    const reasons = ev.failures.map((f) => `${f.key} (${f.refId}): ${f.message} [${f.code}]`);
    if (await this.deps.repo.markFailed({ id: ev.deploymentId }, reasons, eventId)) this.deps.onEvents();
  }

  async onSecretChanged(eventId: string, change: SecretChanged): Promise<number> {
    const stale = await this.deps.repo.markStale(eventId, change, this.deps.clock?.());
    if (stale.length > 0) this.deps.onEvents();
    return stale.length;
  }

  /** Another deployment of a workload went live: stop older ones running here. */
  async onDeployed(ev: WorkloadOutcome): Promise<void> {
    for (const r of this.deps.runtime.running()) {
      if (r.workloadId === ev.workloadId && r.deploymentId !== ev.deploymentId) {
        await this.deps.runtime.stop(r.deploymentId, `replaced by deployment ${ev.deploymentId}`);
      }
    }
  }

  /**
   * Throws a permanent error (the consumer terminates the message) when
   * `check` finds that the event does not answer the deployment it names,
   * after logging and auditing the refusal.
   */
  async #acceptOnly(
    what: string,
    eventId: string,
    deploymentId: unknown,
    claimedDomain: unknown,
    origin: BusOrigin,
    check: (d: RecordedDeployment | undefined) => string | undefined,
  ): Promise<void> {
    const id = String(deploymentId);
    const d = await this.deps.repo.recordedDeployment(id);
    const problem = check(d);
    if (problem === undefined) return;
    const domain =
      d?.domain ??
      (typeof claimedDomain === 'string' && DOMAIN_NAME.test(claimedDomain) ? claimedDomain : GLOBAL_SCOPE);
    await this.#audited(what, eventId, id, domain, origin, problem);
    throw invalidArgument('bus.rejected', `${what} ${eventId.slice(0, 80)} refused: ${problem}`);
  }

  /** The deployer's audit record (and log line) of a bus message it refused: ids, keys and reasons, never a value. */
  async #audited(
    what: string,
    eventId: string,
    deploymentId: string,
    domain: string,
    origin: BusOrigin,
    problem: string,
  ): Promise<void> {
    await this.deps.repo.recordAudit(
      auditRecord({
        service: 'deployer',
        // Who published it is not known: the source is what the message claims.
        actor: `bus:${origin.source || 'unknown'}`,
        action: 'bus.rejected',
        domain,
        resource: `${what}:deployment ${deploymentId}`,
        outcome: 'deny',
        reason: problem,
        requestId: eventId,
      }),
    );
    this.deps.onEvents();
    this.deps.logger.warn('bus message refused: it does not match the deployment it names', {
      event: what,
      eventId: eventId.slice(0, 128),
      deploymentId: deploymentId.slice(0, 80),
      domain,
      reason: problem,
      ...(origin.subject ? { subject: origin.subject.slice(0, 200) } : {}),
    });
  }

  private async fail(d: DeploymentRecord, reasons: string[]): Promise<void> {
    if (await this.deps.repo.markFailed(d, reasons)) this.deps.onEvents();
  }

  private readonly exits = new Set<Promise<void>>();

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
    await this.output.flush();
    this.output.forget(deploymentId);
    try {
      if (stopReason) await this.deps.repo.markEnded(deploymentId, 'stopped', null, stopReason);
      else await this.deps.repo.markEnded(deploymentId, 'exited', code, signal ? `ended by ${signal}` : undefined);
    } catch (err) {
      this.deps.logger.warn('could not record the end of a workload', { deploymentId, err });
    }
  }

  private async mustFind(domain: string, name: string): Promise<WorkloadRecord> {
    if (!WORKLOAD_NAME.test(name))
      throw invalidArgument('workload.invalid_name', `invalid workload name ${JSON.stringify(name.slice(0, 80))}`);
    const w = await this.deps.repo.getWorkload(domain, name);
    if (!w) throw notFound('workload.not_found', `workload ${name} not found in domain ${domain}: apply it first`);
    return w;
  }
}
