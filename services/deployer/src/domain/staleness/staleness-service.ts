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
 * version of the changed secret become stale (`workload.stale` events name
 * them, many per event);
 * none is restarted. Returns how many became stale.
 */
export async function markDependentsStale(
  deps: StalenessDeps,
  eventId: string,
  change: SecretChanged,
): Promise<number> {
  const { marked, events } = await deps.repo.markStale(eventId, change, deps.clock?.());
  if (events > 0) deps.onEvents();
  return marked;
}
