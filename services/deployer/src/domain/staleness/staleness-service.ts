import type { SecretChanged } from '@latchkey/events';
import type { WorkloadRepo } from '../ports.js';

export interface StalenessDeps {
  repo: Pick<WorkloadRepo, 'markStale'>;
  onEvents: () => void;
  /** The time (when a workload became stale); tests inject one. */
  clock?: () => Date;
}

/**
 * `secret.changed`: the workloads whose live deployment received an older
 * version of the changed secret become stale (a `workload.stale` event each);
 * none is restarted. Returns how many became stale.
 */
export async function markDependentsStale(
  deps: StalenessDeps,
  eventId: string,
  change: SecretChanged,
): Promise<number> {
  const stale = await deps.repo.markStale(eventId, change, deps.clock?.());
  if (stale.length > 0) deps.onEvents();
  return stale.length;
}
