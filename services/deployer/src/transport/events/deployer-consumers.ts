import {
  ALL,
  DURABLES,
  eventHandler,
  eventTypes,
  STREAM_EVENTS,
  STREAM_RESOLVED,
  subjects,
  type SecretChanged,
  type WorkloadResolutionFailed,
  type WorkloadResolutionRetrying,
  type WorkloadResolved,
  type WorkloadStale,
} from '@latchkey/events';
import type { DurableConsumer, MessageHandler } from '@latchkey/nats';
import type { AutoRedeployService } from '../../domain/auto-redeploy-service.js';
import type { WorkloadService } from '../../domain/workload-service.js';

// The names come from the bus permission table: only the deployer's NATS user may read or ack them.
export const RESOLVED_CONSUMER = DURABLES.deployerResolved;
export const RESOLUTION_FAILED_CONSUMER = DURABLES.deployerResolutionFailed;
export const SECRET_CHANGED_CONSUMER = DURABLES.deployerSecretChanged;
export const RESOLUTION_RETRYING_CONSUMER = DURABLES.deployerResolutionRetrying;
export const WORKLOAD_STALE_CONSUMER = DURABLES.deployerWorkloadStale;

export const resolvedConsumer = (w: WorkloadService): MessageHandler =>
  eventHandler<WorkloadResolved>(
    'deployer/workload.resolved',
    (event, msg) => w.onResolved(event.id, event.data, { subject: msg.subject, source: event.source }),
    { type: eventTypes.resolved },
  );

export const resolutionFailedConsumer = (w: WorkloadService): MessageHandler =>
  eventHandler<WorkloadResolutionFailed>(
    'deployer/workload.resolution_failed',
    (event, msg) => w.onResolutionFailed(event.id, event.data, { subject: msg.subject, source: event.source }),
    { type: eventTypes.resolutionFailed },
  );

export const secretChangedConsumer = (w: WorkloadService): MessageHandler =>
  eventHandler<SecretChanged>(
    'deployer/secret.changed',
    async (event) => {
      await w.onSecretChanged(event.id, event.data);
    },
    { type: eventTypes.secretChanged },
  );

export const resolutionRetryingConsumer = (w: WorkloadService): MessageHandler =>
  eventHandler<WorkloadResolutionRetrying>(
    'deployer/workload.resolution_retrying',
    (event, msg) => w.onResolutionRetrying(event.id, event.data, { subject: msg.subject, source: event.source }),
    { type: eventTypes.resolutionRetrying },
  );

/**
 * `workload.stale`: the redeploy policy acts on it (one replica per event).
 * A workload still in its cooldown is considered again when it ends
 * (`later`: the periodic scan, brought forward).
 */
export const workloadStaleConsumer = (auto: AutoRedeployService, later: (inMs: number) => void): MessageHandler =>
  eventHandler<WorkloadStale>(
    'deployer/workload.stale',
    async (event) => {
      const outcome = await auto.onStale(event.data);
      if ('skip' in outcome && outcome.retryInMs !== undefined) later(outcome.retryInMs);
    },
    { type: eventTypes.stale },
  );

const row = (stream: string, durable: string, subject: string, handler: MessageHandler): DurableConsumer => ({
  stream,
  durable,
  filterSubjects: [subject],
  handler,
});

/** The deployer's durable consumers, shared by its replicas: one row each, started by the service bootstrap. */
export const deployerConsumers = (
  w: WorkloadService,
  auto: AutoRedeployService,
  later: (inMs: number) => void,
): DurableConsumer[] => [
  row(STREAM_RESOLVED, RESOLVED_CONSUMER, subjects.resolved(ALL), resolvedConsumer(w)),
  row(STREAM_EVENTS, RESOLUTION_FAILED_CONSUMER, subjects.resolutionFailed(ALL), resolutionFailedConsumer(w)),
  row(STREAM_EVENTS, SECRET_CHANGED_CONSUMER, subjects.secretChanged(ALL), secretChangedConsumer(w)),
  row(STREAM_EVENTS, RESOLUTION_RETRYING_CONSUMER, subjects.resolutionRetrying(ALL), resolutionRetryingConsumer(w)),
  row(STREAM_EVENTS, WORKLOAD_STALE_CONSUMER, subjects.stale(ALL), workloadStaleConsumer(auto, later)),
];
