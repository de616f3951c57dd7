import { LatchkeyError } from '@latchkey/errors';
import type { PlannedReference, ReferenceSpec } from '@latchkey/events';
import type { ResolutionPlanner } from '../ports.js';

/** How one reference is named in a warning: as written in the spec. */
export function referenceLabel(r: { refId: string; key: string }): string {
  return r.refId.startsWith('LEGACY:') ? `\${secrets.${r.key}}` : `reference ${r.refId}`;
}

const NOT_FOUND = new Set(['secret.not_found', 'vault.not_found']);

function warningOf(r: PlannedReference): string {
  const label = referenceLabel(r);
  if (NOT_FOUND.has(r.code)) {
    return `${label} does not exist yet (${r.message}): deployments fail until it is created`;
  }
  if (r.retryable) return `${label} was not checked: ${r.message} [${r.code}]`;
  return `${label}: ${r.message} [${r.code}]: a deployment would fail on it`;
}

/**
 * The check when a workload is applied: asks the resolver whether the
 * principal may use each reference and whether its key exists. Keys may be
 * created later, so nothing here refuses the workload: each problem, and a
 * check that could not be made, becomes a warning.
 */
export async function checkReferences(
  planner: ResolutionPlanner | undefined,
  request: { domain: string; workload: string; principal: string; groups?: string[]; references: ReferenceSpec[] },
  timeoutMs: number,
): Promise<string[]> {
  if (!planner || request.references.length === 0) return [];
  const notChecked = (why: string) =>
    `the existence of the referenced keys was not checked (${why}); each deployment resolves them anyway`;
  try {
    const reply = await planner.plan({ mode: 'check', ...request }, timeoutMs);
    if (!reply.ok) return [notChecked(`${reply.code}: ${reply.message}`)];
    return [...reply.references.filter((r) => !r.ok).map(warningOf), ...reply.warnings];
  } catch (err) {
    return [
      notChecked(err instanceof LatchkeyError ? `${err.code}: ${err.message}` : 'the resolver could not be asked'),
    ];
  }
}
