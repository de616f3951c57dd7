import type { ReferenceSpec, WorkloadDeploying } from './event-types.js';
import type { PlanRequest } from './resolution-plan.js';
import type { RuntimeReadRequest } from './runtime-read.js';

/**
 * The bytes the deployer signs and the resolver verifies: every field the
 * resolver acts on, in a fixed order (a JSON array, so no key order or
 * extra field changes them). A field added to what the resolver acts on
 * must be added here.
 */
const canonical = (fields: unknown[]): Buffer => Buffer.from(JSON.stringify(fields), 'utf8');

const refs = (references: readonly ReferenceSpec[] | undefined): unknown[] =>
  (Array.isArray(references) ? references : []).map((r) => [r.refId, r.key, r.sourceType, r.sourceId, r.legacy]);

/** A deploying event: its event id, the deployment, workload, domain, principal, groups and references. */
export function deployingPayload(eventId: string, ev: WorkloadDeploying): Buffer {
  return canonical([
    'latchkey.workload.deploying.v1',
    eventId,
    ev.deploymentId,
    ev.workloadId,
    ev.workload,
    ev.domain,
    ev.principal,
    ev.groups ?? [],
    refs(ev.references),
  ]);
}

/** A plan request: its kind (check or dry run), id and time, domain, workload, principal, groups and references. */
export function planPayload(req: PlanRequest): Buffer {
  return canonical([
    'latchkey.resolver.plan.v1',
    req.mode,
    req.requestId ?? null,
    req.issuedAt ?? null,
    req.domain,
    req.workload,
    req.principal,
    req.groups ?? [],
    refs(req.references),
  ]);
}

/** A runtime read: its id and time, domain, workload, deployment, principal, groups and the one reference. */
export function runtimeReadPayload(req: RuntimeReadRequest): Buffer {
  return canonical([
    'latchkey.resolver.runtime_read.v1',
    req.requestId ?? null,
    req.issuedAt ?? null,
    req.domain,
    req.workload,
    req.deploymentId,
    req.principal,
    req.groups ?? [],
    refs(req.reference ? [req.reference] : []),
  ]);
}
