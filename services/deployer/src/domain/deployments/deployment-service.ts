import { authorize } from '@latchkey/authz';
import { LatchkeyError } from '@latchkey/errors';
import { checkDomainName, subjects } from '@latchkey/events';
import type { PlannedReference, WorkloadResolutionFailed, WorkloadResolutionRetrying } from '@latchkey/events';
import { askPlanner } from './ask-planner.js';
import type { WorkloadServiceDeps } from '../deployer-deps.js';
import type { DeploymentRecord, DeploymentTrigger, WorkloadRecord } from '../deployment-types.js';
import { resolutionFailedMismatch, type BusOrigin } from './resolution-check.js';
import { referencesOf, specWarnings } from '../workload-spec.js';
import {
  assertSecretsVersion,
  assertStartable,
  findWorkload,
  isConfiguration,
  notStartable,
} from '../workloads/workload-definitions.js';
import type { BusAcceptance } from './bus-acceptance.js';
import { DEPLOYMENT_ERRORS, deploymentNotFoundInDomain, redeployInvalidTarget } from './deployment-errors.js';

/** What `redeploy` did for one workload: a new deployment, or why there is none. */
export type RedeployResult =
  { workload: string; deployment: DeploymentRecord } | { workload: string; code: string; message: string };

/** What a deployment would do, from a dry run: per reference, what would be used. */
export interface DeploymentPlanResult {
  domain: string;
  workload: string;
  ok: boolean;
  references: PlannedReference[];
  warnings: string[];
}

export type DeploymentsDeps = Pick<
  WorkloadServiceDeps,
  'repo' | 'authorizer' | 'onEvents' | 'planner' | 'dryRunTimeoutMs' | 'secretsV2'
>;

/** Deployments recorded and resolved: deploy, redeploy, dry run, and the resolver's failures and retries. */
export class Deployments {
  constructor(
    private readonly deps: DeploymentsDeps,
    private readonly bus: BusAcceptance,
  ) {}

  /** `groups`: the principal's groups, recorded with the deployment for the resolver's checks. */
  async deploy(
    principal: string,
    domain: string,
    name: string,
    groups: readonly string[] = [],
    trigger: DeploymentTrigger = 'deploy',
  ): Promise<DeploymentRecord> {
    checkDomainName(domain);
    await authorize(this.deps.authorizer, { principal, action: 'workload.deploy', domain, resource: name });
    const workload = await findWorkload(this.deps.repo, domain, name);
    assertStartable(workload);
    // A workload stored while Secrets V2 was on is refused once it is off.
    assertSecretsVersion(this.deps.secretsV2, name, workload.spec, trigger === 'redeploy' ? 'redeploy' : 'deploy');
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
    checkDomainName(domain);
    const name = target.name ?? '';
    if (name !== '' && target.stale === true) throw redeployInvalidTarget(true);
    if (name === '' && target.stale !== true) throw redeployInvalidTarget(false);
    if (name !== '') {
      return [{ workload: name, deployment: await this.deploy(principal, domain, name, groups, 'redeploy') }];
    }
    await authorize(this.deps.authorizer, { principal, action: 'workload.deploy', domain });
    const stale = await this.deps.repo.listWorkloadViews([domain], { staleOnly: true });
    const results: RedeployResult[] = [];
    for (const { workload: w } of stale) {
      try {
        results.push(await this.redeployStale(principal, w, groups));
      } catch (err) {
        if (!(err instanceof LatchkeyError) || err.retryable) throw err;
        results.push({ workload: w.name, code: err.code, message: err.message });
      }
    }
    return results;
  }

  private async redeployStale(
    principal: string,
    w: WorkloadRecord,
    groups: readonly string[],
  ): Promise<RedeployResult> {
    await authorize(this.deps.authorizer, {
      principal,
      action: 'workload.deploy',
      domain: w.domain,
      resource: w.name,
    });
    assertStartable(w);
    assertSecretsVersion(this.deps.secretsV2, w.name, w.spec, 'redeploy');
    // Decided under the workload's lock: another replica, person or
    // auto policy may have redeployed it since the list was read.
    const created = await this.deps.repo.createRedeployOfStale(w, principal, referencesOf(w.spec, w.domain), groups);
    if ('deployment' in created) {
      this.deps.onEvents();
      return { workload: w.name, deployment: created.deployment };
    }
    if (created.skip === 'in_flight') {
      const d = created.inFlight;
      return {
        workload: d.workload,
        code: DEPLOYMENT_ERRORS.redeployInFlight,
        message: `deployment ${d.id} is already ${d.status}: not redeployed again`,
      };
    }
    return {
      workload: w.name,
      code: DEPLOYMENT_ERRORS.redeployNotStale,
      message: 'redeployed by someone else since the stale list was read: not redeployed again',
    };
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
    checkDomainName(domain);
    await authorize(this.deps.authorizer, { principal, action: 'workload.deploy', domain, resource: name });
    const workload = await findWorkload(this.deps.repo, domain, name);
    assertSecretsVersion(this.deps.secretsV2, name, workload.spec, 'dry run');
    // A storage config without run is a configuration: its dry run checks its references, and says what deploy does.
    const configuration = isConfiguration(workload.spec);
    const note = notStartable(name, workload.spec, domain);
    const problem = configuration ? undefined : note;
    const warnings = [
      ...specWarnings(workload.spec),
      ...(note ? [configuration ? `${note} (deploy would refuse it)` : `${note}: deploy would be refused`] : []),
    ];
    const references = referencesOf(workload.spec, domain);
    if (references.length === 0) return { domain, workload: name, ok: !problem, references: [], warnings };
    const reply = await askPlanner(
      this.deps.planner,
      {
        mode: 'dry_run',
        domain,
        workload: name,
        principal,
        ...(groups.length > 0 ? { groups: [...groups] } : {}),
        references,
      },
      this.deps.dryRunTimeoutMs,
    );
    return {
      domain,
      workload: name,
      ok: !problem && reply.references.every((r) => r.ok),
      references: reply.references,
      warnings: [...warnings, ...reply.warnings],
    };
  }

  async getDeployment(principal: string, domain: string, id: string): Promise<DeploymentRecord> {
    checkDomainName(domain);
    await authorize(this.deps.authorizer, { principal, action: 'workload.read', domain });
    const d = /^[0-9a-f-]{36}$/.test(id) ? await this.deps.repo.getDeployment(id) : undefined;
    if (!d || d.domain !== domain) throw deploymentNotFoundInDomain(id, domain);
    return d;
  }

  /** `workload.resolution_retrying`: the deployment waits for an unavailable backend, and says so. */
  async onResolutionRetrying(eventId: string, ev: WorkloadResolutionRetrying, origin: BusOrigin = {}): Promise<void> {
    await this.bus.acceptOnly('workload.resolution_retrying', eventId, ev.deploymentId, ev.domain, origin, (d) =>
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
    await this.bus.acceptOnly('workload.resolution_failed', eventId, ev.deploymentId, ev.domain, origin, (d) =>
      resolutionFailedMismatch(d, ev, origin, subjects.resolutionFailed),
    );
    const reasons = ev.failures.map((f) => `${f.key} (${f.refId}): ${f.message} [${f.code}]`);
    if (await this.deps.repo.markFailed({ id: ev.deploymentId }, reasons, eventId)) this.deps.onEvents();
  }
}
