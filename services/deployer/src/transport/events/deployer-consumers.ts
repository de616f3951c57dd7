import {
  DURABLES,
  eventHandler,
  type SecretChanged,
  type WorkloadResolutionFailed,
  type WorkloadResolutionRetrying,
  type WorkloadResolved,
  type WorkloadStale,
} from '@latchkey/events';
import type { MessageHandler } from '@latchkey/nats';
import type { AutoRedeployService } from '../../domain/auto-redeploy-service.js';
import type { WorkloadService } from '../../domain/workload-service.js';

// The names come from the bus permission table: only the deployer's NATS user may read or ack them.
export const RESOLVED_CONSUMER = DURABLES.deployerResolved;
export const RESOLUTION_FAILED_CONSUMER = DURABLES.deployerResolutionFailed;
export const SECRET_CHANGED_CONSUMER = DURABLES.deployerSecretChanged;
export const RESOLUTION_RETRYING_CONSUMER = DURABLES.deployerResolutionRetrying;
export const WORKLOAD_STALE_CONSUMER = DURABLES.deployerWorkloadStale;

export const resolvedConsumer = (w: WorkloadService): MessageHandler =>
  eventHandler<WorkloadResolved>('deployer/workload.resolved', (event, msg) =>
    w.onResolved(event.id, event.data, { subject: msg.subject, source: event.source }),
  );

export const resolutionFailedConsumer = (w: WorkloadService): MessageHandler =>
  eventHandler<WorkloadResolutionFailed>('deployer/workload.resolution_failed', (event, msg) =>
    w.onResolutionFailed(event.id, event.data, { subject: msg.subject, source: event.source }),
  );

export const secretChangedConsumer = (w: WorkloadService): MessageHandler =>
  eventHandler<SecretChanged>('deployer/secret.changed', async (event) => {
    await w.onSecretChanged(event.id, event.data);
  });

export const resolutionRetryingConsumer = (w: WorkloadService): MessageHandler =>
  eventHandler<WorkloadResolutionRetrying>('deployer/workload.resolution_retrying', (event, msg) =>
    w.onResolutionRetrying(event.id, event.data, { subject: msg.subject, source: event.source }),
  );

/**
 * `workload.stale`: the redeploy policy acts on it (one replica per event).
 * A workload still in its cooldown is considered again when it ends
 * (`later`: the periodic scan, brought forward).
 */
export const workloadStaleConsumer = (auto: AutoRedeployService, later: (inMs: number) => void): MessageHandler =>
  eventHandler<WorkloadStale>('deployer/workload.stale', async (event) => {
    const outcome = await auto.onStale(event.data);
    if ('skip' in outcome && outcome.retryInMs !== undefined) later(outcome.retryInMs);
  });
