import { GLOBAL_SCOPE } from '@latchkey/events';
import type { ReferenceSpec, WorkloadResolutionFailed, WorkloadResolved } from '@latchkey/events';

/** What the deployer recorded of a deployment: what an answer from the resolver must match. */
export interface RecordedDeployment {
  domain: string;
  /** The references its workload.deploying event carried; null for a deployment recorded before they were kept. */
  references: readonly ReferenceSpec[] | null;
}

/** Where a message came from on the bus: its subject, and the source it claims (unverified). */
export interface BusOrigin {
  subject?: string;
  source?: string;
}

const clip = (s: string, max = 80): string => (s.length > max ? `${s.slice(0, max - 3)}...` : s);
const list = (ids: readonly string[]): string =>
  ids
    .slice(0, 10)
    .map((i) => clip(i))
    .join(', ') + (ids.length > 10 ? ` (and ${ids.length - 10} more)` : '');

/** Why an event about `deploymentId` does not belong to it (deployment, domain, subject), if it does not. */
function placeMismatch(
  deploymentId: string,
  d: RecordedDeployment | undefined,
  domain: unknown,
  subject: string | undefined,
  expectedSubject: (domain: string) => string,
): string | undefined {
  if (!d) return `no deployment ${clip(String(deploymentId))} was recorded by the deployer`;
  if (domain !== d.domain) {
    return `the event names domain ${clip(JSON.stringify(domain))}, but deployment ${deploymentId} is in domain ${d.domain}`;
  }
  if (subject !== undefined && subject !== expectedSubject(d.domain)) {
    return `it came on subject ${clip(subject, 200)}, not on ${expectedSubject(d.domain)}`;
  }
  if (d.references === null) {
    return `deployment ${deploymentId} was recorded before its references were kept: deploy it again`;
  }
  return undefined;
}

/** The scopes a reference may be answered from. */
function scopeFits(ref: ReferenceSpec, domain: string, scope: string): boolean {
  if (ref.sourceType === 'VAULT') return scope === ref.sourceId;
  if (ref.legacy) return scope === domain || scope === GLOBAL_SCOPE;
  return scope === ref.sourceId;
}

/**
 * Why a `workload.resolved` does not answer the recorded deployment, if it
 * does not: another deployment's domain, or not exactly its references (the
 * same set of reference ids, each with its key, source type and a scope it
 * may come from; nothing extra, nothing missing). The reason names ids and
 * keys, never a value.
 */
export function resolvedMismatch(
  d: RecordedDeployment | undefined,
  ev: WorkloadResolved,
  origin: BusOrigin = {},
  subjectOf: (domain: string) => string,
): string | undefined {
  const place = placeMismatch(ev.deploymentId, d, ev.domain, origin.subject, subjectOf);
  if (place || !d?.references) return place;
  if (!Array.isArray(ev.versions)) return 'the event carries no list of versions';
  const recorded = new Map(d.references.map((r) => [r.refId, r]));
  const seen = new Set<string>();
  const extra: string[] = [];
  const wrong: string[] = [];
  for (const v of ev.versions) {
    const ref = recorded.get(v.refId);
    if (!ref) {
      extra.push(String(v.refId));
      continue;
    }
    if (seen.has(v.refId)) wrong.push(`${v.refId} (twice)`);
    seen.add(v.refId);
    if (v.key !== ref.key || v.sourceType !== ref.sourceType) {
      wrong.push(`${v.refId} (key or source type differs)`);
    } else if (!scopeFits(ref, d.domain, String(v.scope))) {
      wrong.push(`${v.refId} (scope ${clip(String(v.scope))})`);
    }
  }
  const missing = d.references.filter((r) => !seen.has(r.refId)).map((r) => r.refId);
  return referenceProblem(ev.deploymentId, extra, missing, wrong);
}

/**
 * Why a `workload.resolution_failed` (or `.resolution_retrying`) does not
 * answer the recorded deployment, if it does not. The resolver names only
 * the references that failed: each one of the deployment's (same key), none
 * twice, and at least one unless `allowNone` (a retry note may name none).
 */
export function resolutionFailedMismatch(
  d: RecordedDeployment | undefined,
  ev: Pick<WorkloadResolutionFailed, 'deploymentId' | 'domain' | 'failures'>,
  origin: BusOrigin = {},
  subjectOf: (domain: string) => string,
  allowNone = false,
): string | undefined {
  const place = placeMismatch(ev.deploymentId, d, ev.domain, origin.subject, subjectOf);
  if (place || !d?.references) return place;
  if (!Array.isArray(ev.failures)) return 'the event carries no list of failures';
  if (ev.failures.length === 0 && !allowNone) return 'the event names no failed reference';
  const recorded = new Map(d.references.map((r) => [r.refId, r]));
  const seen = new Set<string>();
  const extra: string[] = [];
  const wrong: string[] = [];
  for (const f of ev.failures) {
    const ref = recorded.get(f.refId);
    if (!ref) extra.push(String(f.refId));
    else if (seen.has(f.refId)) wrong.push(`${f.refId} (twice)`);
    else if (f.key !== ref.key) wrong.push(`${f.refId} (key differs)`);
    seen.add(f.refId);
  }
  return referenceProblem(ev.deploymentId, extra, [], wrong);
}

function referenceProblem(
  deploymentId: string,
  extra: string[],
  missing: string[],
  wrong: string[],
): string | undefined {
  const parts = [
    ...(extra.length > 0 ? [`not among its references: ${list(extra)}`] : []),
    ...(missing.length > 0 ? [`missing: ${list(missing)}`] : []),
    ...(wrong.length > 0 ? [`not as recorded: ${list(wrong)}`] : []),
  ];
  return parts.length === 0
    ? undefined
    : `the event does not carry exactly the references of deployment ${deploymentId} (${parts.join('; ')})`;
}
