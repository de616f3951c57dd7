import type { NatsConnection, Subscription } from 'nats';
import type { WorkloadStopRequested } from '@latchkey/events';
import type { Logger } from '@latchkey/logger';
import type { WorkloadService } from '../../domain/workload-service.js';

/**
 * `workload.stop_requested`, heard by every replica (a plain subscription,
 * not the shared consumer): the one running the deployment stops it. A
 * replica that misses it finds the request in the database on its next
 * periodic check (WorkloadService.reconcileStops).
 */
export function subscribeStopRequests(nc: NatsConnection, workloads: WorkloadService, log: Logger): Subscription {
  return nc.subscribe('latchkey.workload.stop_requested.>', {
    callback: (err, msg) => {
      if (err) return;
      try {
        workloads.onStopRequested(JSON.parse(new TextDecoder().decode(msg.data)) as WorkloadStopRequested);
      } catch {
        log.warn('malformed stop_requested event', { subject: msg.subject });
      }
    },
  });
}
