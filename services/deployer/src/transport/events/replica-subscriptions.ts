import {
  ALL,
  eventTypes,
  subjects,
  type EventSubscription,
  type WorkloadOutcome,
  type WorkloadStopRequested,
} from '@latchkey/events';
import type { WorkloadService } from '../../domain/workload-service.js';

/**
 * `workload.stop_requested`, heard by every replica (a plain subscription,
 * not the shared consumer): the one running the deployment stops it. A
 * replica that misses it finds the request in the database on its next
 * periodic check (WorkloadService.reconcileStops).
 */
export const stopRequests = (workloads: WorkloadService): EventSubscription<WorkloadStopRequested> => ({
  name: 'deployer/workload.stop_requested',
  subject: subjects.stopRequested(ALL),
  type: eventTypes.stopRequested,
  handle: (event) => workloads.onStopRequested(event.data),
});

/**
 * `workload.deployed`, heard by every replica (a plain subscription, not the
 * shared consumer), to stop the older deployment of a workload it runs; a
 * redeploy slot may have freed up (`freed`: the redeploy scan, brought forward).
 */
export const deployedOutcomes = (
  workloads: WorkloadService,
  freed: () => void,
): EventSubscription<WorkloadOutcome> => ({
  name: 'deployer/workload.deployed',
  subject: subjects.deployed(ALL),
  type: eventTypes.deployed,
  handle: async (event) => {
    freed();
    await workloads.onDeployed(event.data);
  },
});
