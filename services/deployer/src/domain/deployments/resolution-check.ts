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

/** The scopes a reference may be answered from (Secrets V2 off: a placeholder from global scope only). */
function scopeFits(ref: ReferenceSpec, domain: string, scope: string, secretsV2: boolean): boolean {
  if (ref.sourceType === 'VAULT') return scope === ref.sourceId;
  if (ref.legacy) return scope === GLOBAL_SCOPE || (secretsV2 && scope === domain);
  return scope === ref.sourceId;
}

/** An answer's entries tallied against the recorded references: unknown ids, ids seen, and entries not as recorded. */
interface Tally {
  recorded: Map<string, ReferenceSpec>;
  seen: Set<string>;
  extra: string[];
  wrong: string[];
}

/**
 * The checks both answers share: the place (deployment, domain, subject),
 * then a list of entries (`noList` if there is none), then `check` on them.
 */
function answerMismatch<E>(
  d: RecordedDeployment | undefined,
  ev: { deploymentId: string; domain: unknown },
  origin: BusOrigin,
  subjectOf: (domain: string) => string,
  entries: readonly E[],
  noList: string,
  check: (
    recorded: { domain: string; references: readonly ReferenceSpec[] },
    entries: readonly E[],
    tally: Tally,
  ) => string | undefined,
): string | undefined {
  const place = placeMismatch(ev.deploymentId, d, ev.domain, origin.subject, subjectOf);
  if (place || !d?.references) return place;
  if (!Array.isArray(entries)) return noList;
  const recorded = new Map(d.references.map((r) => [r.refId, r]));
  return check({ domain: d.domain, references: d.references }, entries, {
    recorded,
    seen: new Set(),
    extra: [],
    wrong: [],
  });
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
  secretsV2 = true,
): string | undefined {
  const noList = 'the event carries no list of versions';
  return answerMismatch(d, ev, origin, subjectOf, ev.versions, noList, (rec, versions, t) => {
    for (const v of versions) {
      const ref = t.recorded.get(v.refId);
      if (!ref) {
        t.extra.push(String(v.refId));
        continue;
      }
      if (t.seen.has(v.refId)) t.wrong.push(`${v.refId} (twice)`);
      t.seen.add(v.refId);
      if (v.key !== ref.key || v.sourceType !== ref.sourceType) {
        t.wrong.push(`${v.refId} (key or source type differs)`);
      } else if (!scopeFits(ref, rec.domain, String(v.scope), secretsV2)) {
        t.wrong.push(`${v.refId} (scope ${clip(String(v.scope))})`);
      }
    }
    const missing = rec.references.filter((r) => !t.seen.has(r.refId)).map((r) => r.refId);
    return referenceProblem(ev.deploymentId, t.extra, missing, t.wrong);
  });
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
  const noList = 'the event carries no list of failures';
  return answerMismatch(d, ev, origin, subjectOf, ev.failures, noList, (_rec, failures, t) => {
    if (failures.length === 0 && !allowNone) return 'the event names no failed reference';
    for (const f of failures) {
      const ref = t.recorded.get(f.refId);
      if (!ref) t.extra.push(String(f.refId));
      else if (t.seen.has(f.refId)) t.wrong.push(`${f.refId} (twice)`);
      else if (f.key !== ref.key) t.wrong.push(`${f.refId} (key differs)`);
      t.seen.add(f.refId);
    }
    return referenceProblem(ev.deploymentId, t.extra, [], t.wrong);
  });
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
