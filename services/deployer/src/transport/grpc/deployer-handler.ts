import type { Handlers } from '@latchkey/grpc';
import type { PlannedReference } from '@latchkey/events';
import type {
  Deployment,
  DeployerServiceServer,
  PlannedReference as PlannedReferenceMessage,
  Workload,
} from '@latchkey/proto';
import type { DeploymentRecord, WorkloadRecord, WorkloadView } from '../../domain/deployment-types.js';
import { effectivePolicy } from '../../domain/staleness/redeploy-policy.js';
import { findPlaintextCredentials } from '../../domain/workloads/plaintext-credentials.js';
import type { WorkloadService } from '../../domain/workload-service.js';

export const toDeployment = (d: DeploymentRecord): Deployment => ({
  id: d.id,
  domain: d.domain,
  workload: d.workload,
  status: d.status,
  reasons: d.reasons,
  versions: d.versions.map((v) => ({
    refId: v.refId,
    key: v.key,
    sourceType: v.sourceType,
    scope: v.scope,
    version: v.version,
  })),
  principal: d.principal,
  createdAt: d.createdAt.toISOString(),
  updatedAt: d.updatedAt.toISOString(),
  pid: d.pid ?? 0,
  exitCode: d.exitCode ?? 0,
  warnings: d.warnings,
  attempts: d.attempts,
  trigger: d.trigger,
  runner: d.runner ?? '',
  stopRequestedAt: d.stopRequestedAt?.toISOString() ?? '',
  stopRequestedBy: d.stopRequestedBy ?? '',
});

export const toWorkload = (
  w: WorkloadRecord,
  last?: DeploymentRecord,
  warnings: string[] = [],
  live?: DeploymentRecord,
): Workload => ({
  id: w.id,
  domain: w.domain,
  name: w.name,
  kind: w.kind,
  specJson: JSON.stringify(w.spec),
  stale: w.stale,
  staleReasons: w.staleReasons.map((r) => ({
    key: r.key,
    scope: r.scope,
    deployedVersion: r.deployedVersion,
    currentVersion: r.currentVersion,
    change: r.change,
  })),
  lastDeployment: last ? toDeployment(last) : undefined,
  createdAt: w.createdAt.toISOString(),
  updatedAt: w.updatedAt.toISOString(),
  warnings,
  liveDeployment: live ? toDeployment(live) : undefined,
  staleSince: w.staleSince?.toISOString() ?? '',
  redeployPolicy: (({ mode, window, maxConcurrent }) => ({ mode, window: window ?? '', maxConcurrent }))(
    effectivePolicy(w.spec.redeployPolicy),
  ),
  appliedBy: w.appliedBy?.principal ?? '',
  plaintextCredentials: findPlaintextCredentials(w.spec).map((f) => ({
    path: f.path,
    segments: f.segments,
    reason: f.reason,
    referenceAt: f.referenceAt ?? [],
  })),
});

const toPlannedReference = (r: PlannedReference): PlannedReferenceMessage => ({
  refId: r.refId,
  key: r.key,
  sourceType: r.sourceType,
  ok: r.ok,
  scope: r.scope,
  version: r.version,
  shadowedGlobal: r.shadowedGlobal,
  code: r.code,
  message: r.message,
  retryable: r.retryable,
});

const viewToWorkload = (v: WorkloadView): Workload => toWorkload(v.workload, v.last, [], v.live);

export function deployerHandlers(workloads: WorkloadService): Handlers<DeployerServiceServer> {
  return {
    applyWorkload: async (req, ctx) => {
      const { workload, warnings } = await workloads.apply(
        ctx.principal.id,
        req.domain,
        req.specJson,
        ctx.principal.groups,
      );
      return toWorkload(workload, undefined, warnings);
    },
    getWorkload: async (req, ctx) => {
      const { workload, live, last, warnings } = await workloads.get(ctx.principal.id, req.domain, req.name);
      return toWorkload(workload, last, warnings, live);
    },
    listWorkloads: async (req, ctx) => ({
      workloads: (
        await workloads.list(ctx.principal.id, req.domain, { staleOnly: req.stale, groups: ctx.principal.groups })
      ).map(viewToWorkload),
    }),
    stopWorkload: async (req, ctx) => {
      const { deployments, alreadyStopped } = await workloads.stop(ctx.principal.id, req.domain, req.name);
      return { deployments: deployments.map(toDeployment), alreadyStopped };
    },
    redeploy: async (req, ctx) => ({
      results: (
        await workloads.redeploy(
          ctx.principal.id,
          req.domain,
          { name: req.name, stale: req.stale },
          ctx.principal.groups,
        )
      ).map((r) =>
        'deployment' in r
          ? { workload: r.workload, deployment: toDeployment(r.deployment), code: '', message: '' }
          : { workload: r.workload, deployment: undefined, code: r.code, message: r.message },
      ),
    }),
    deploy: async (req, ctx) =>
      toDeployment(await workloads.deploy(ctx.principal.id, req.domain, req.name, ctx.principal.groups)),
    dryRun: async (req, ctx) => {
      const plan = await workloads.dryRun(ctx.principal.id, req.domain, req.name, ctx.principal.groups);
      return {
        domain: plan.domain,
        workload: plan.workload,
        ok: plan.ok,
        references: plan.references.map(toPlannedReference),
        warnings: plan.warnings,
      };
    },
    deleteWorkload: async (req, ctx) => ({
      workload: viewToWorkload(await workloads.delete(ctx.principal.id, req.domain, req.name, ctx.principal.groups)),
    }),
    getDeployment: async (req, ctx) =>
      toDeployment(await workloads.getDeployment(ctx.principal.id, req.domain, req.id)),
    getLogs: async (req, ctx) => {
      const page = await workloads.logs(ctx.principal.id, req.domain, req.name, req.deploymentId, {
        pageToken: req.pageToken,
        pageSize: req.pageSize,
      });
      return {
        deploymentId: page.id,
        lines: page.lines.map((l) => ({ seq: l.seq, stream: l.stream, line: l.line, at: l.at.toISOString() })),
        nextPageToken: page.nextPageToken,
        more: page.more,
        ended: page.ended,
        droppedLines: page.droppedLines,
      };
    },
    testWorkload: async (req, ctx) => {
      const r = await workloads.test(ctx.principal.id, req.domain, req.name, ctx.principal.groups);
      return { ...r, references: r.references.map(toPlannedReference) };
    },
  };
}
