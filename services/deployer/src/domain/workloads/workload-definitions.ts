import { authorize, type Authorizer } from '@latchkey/authz';
import { auditRecord, checkDomainName } from '@latchkey/events';
import type { DeploymentRecord, WorkloadRecord, WorkloadView } from '../deployment-types.js';
import type { ResolutionPlanner, WorkloadRepo } from '../ports.js';
import { checkReferences } from './reference-check.js';
import {
  firstStructuredReference,
  parseWorkloadSpec,
  referencesOf,
  specWarnings,
  WORKLOAD_NAME,
  type WorkloadSpec,
} from '../workload-spec.js';
import {
  invalidWorkloadName,
  workloadNoCommand,
  workloadNotFound,
  workloadRunning,
  workloadSecretsV2Disabled,
} from './workload-errors.js';
import { plaintextCredentialWarnings } from './plaintext-credentials.js';

/** The workload `name` of `domain` (a checked name), or workload.not_found. */
export async function findWorkload(
  repo: Pick<WorkloadRepo, 'getWorkload'>,
  domain: string,
  name: string,
): Promise<WorkloadRecord> {
  if (!WORKLOAD_NAME.test(name)) throw invalidWorkloadName(name);
  const w = await repo.getWorkload(domain, name);
  if (!w) throw workloadNotFound(domain, name);
  return w;
}

/**
 * A STORAGE_CONFIG without run.command: a set of credentials that other
 * workloads and the platform use, not a process. It is applied, dry-run and
 * connection-tested; deploying it is refused with what to do instead.
 */
export const isConfiguration = (spec: WorkloadSpec): boolean => spec.kind === 'STORAGE_CONFIG' && !spec.run;

/** Why a workload cannot be started at all, whatever its references. */
export function notStartable(name: string, spec: WorkloadSpec, domain = ''): string | undefined {
  if (spec.run) return undefined;
  if (isConfiguration(spec)) {
    const at = domain ? ` --domain ${domain}` : '';
    return `workload ${name} is a STORAGE_CONFIG: a set of credentials that other workloads and the platform use, not a process, so there is nothing to deploy; check its credentials and endpoint with latchkey workload test ${name}${at}, and reference its secrets from the workloads that use them`;
  }
  return `workload ${name} has no run.command: the process runtime needs one`;
}

export function assertStartable(w: WorkloadRecord): void {
  const problem = notStartable(w.name, w.spec, w.domain);
  if (problem) throw workloadNoCommand(problem);
}

/**
 * features.secretsV2 off (the legacy mode): a workload with a structured
 * reference is refused (`doing`: what was asked), whether it is applied now
 * or was stored while V2 was on. On (`secretsV2` true or absent): nothing.
 */
export function assertSecretsVersion(
  secretsV2: boolean | undefined,
  name: string,
  spec: WorkloadSpec,
  doing: string,
): void {
  if (secretsV2 !== false) return;
  const path = firstStructuredReference(spec);
  if (path !== undefined) throw workloadSecretsV2Disabled(name, path, doing);
}

export interface WorkloadDefinitionsDeps {
  repo: WorkloadRepo;
  authorizer: Authorizer;
  planner?: ResolutionPlanner;
  checkTimeoutMs?: number;
  /** features.secretsV2; false: structured references are refused (default true). */
  secretsV2?: boolean;
}

/** Workloads as people define them: apply (parse, index the references, check them), get, list. */
export class WorkloadDefinitions {
  constructor(private readonly deps: WorkloadDefinitionsDeps) {}

  /** `groups`: the principal's groups, for the resolver's check of the references. */
  async apply(
    principal: string,
    domain: string,
    specJson: string,
    groups: readonly string[] = [],
  ): Promise<{ workload: WorkloadRecord; warnings: string[] }> {
    checkDomainName(domain);
    await authorize(this.deps.authorizer, { principal, action: 'workload.manage', domain });
    const spec = parseWorkloadSpec(specJson, domain);
    assertSecretsVersion(this.deps.secretsV2, spec.name, spec, 'apply');
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
    const own = specWarnings(spec);
    return { workload, warnings: [...own, ...plaintextCredentialWarnings(spec, domain, own), ...checked] };
  }

  async get(
    principal: string,
    domain: string,
    name: string,
  ): Promise<{ workload: WorkloadRecord; live?: DeploymentRecord; last?: DeploymentRecord; warnings: string[] }> {
    checkDomainName(domain);
    await authorize(this.deps.authorizer, { principal, action: 'workload.read', domain, resource: name });
    const workload = await findWorkload(this.deps.repo, domain, name);
    return { ...(await this.deployments(workload)), warnings: specWarnings(workload.spec) };
  }

  /** A workload with its latest deployment and the one that went live last. */
  private async deployments(workload: WorkloadRecord): Promise<WorkloadView> {
    const last = await this.deps.repo.latestDeployment(workload.id);
    const live =
      workload.lastDeploymentId === null
        ? undefined
        : last?.id === workload.lastDeploymentId
          ? last
          : await this.deps.repo.getDeployment(workload.lastDeploymentId);
    return { workload, ...(live ? { live } : {}), ...(last ? { last } : {}) };
  }

  /**
   * Deletes a workload with its deployments' records and output, as the
   * principal who may apply it (workload.manage); audited. Refused
   * (workload.running, nothing changed) while a deployment of it is on its
   * way or running: a delete never stops a workload, `stop` does.
   */
  async delete(principal: string, domain: string, name: string, groups: readonly string[] = []): Promise<WorkloadView> {
    checkDomainName(domain);
    await authorize(this.deps.authorizer, { principal, action: 'workload.manage', domain, resource: name });
    const workload = await findWorkload(this.deps.repo, domain, name);
    const view = await this.deployments(workload);
    const outcome = await this.deps.repo.deleteWorkload(
      workload,
      auditRecord({
        service: 'deployer',
        actor: principal,
        groups,
        action: 'workload.delete',
        domain,
        resource: `workload:${name}`,
        outcome: 'allow',
      }),
    );
    if ('active' in outcome) throw workloadRunning(domain, name, outcome.active);
    return view;
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
      checkDomainName(domain);
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
}
