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

/** The deployer's durable consumers, shared by its replicas: one row each, started by the service bootstrap. */
export function deployerConsumers(
  workloads: WorkloadService,
  auto: AutoRedeployService,
  later: (inMs: number) => void,
): DurableConsumer[] {
  return [
    {
      stream: STREAM_RESOLVED,
      durable: RESOLVED_CONSUMER,
      filterSubjects: [subjects.resolved(ALL)],
      handler: resolvedConsumer(workloads),
    },
    {
      stream: STREAM_EVENTS,
      durable: RESOLUTION_FAILED_CONSUMER,
      filterSubjects: [subjects.resolutionFailed(ALL)],
      handler: resolutionFailedConsumer(workloads),
    },
    {
      stream: STREAM_EVENTS,
      durable: SECRET_CHANGED_CONSUMER,
      filterSubjects: [subjects.secretChanged(ALL)],
      handler: secretChangedConsumer(workloads),
    },
    {
      stream: STREAM_EVENTS,
      durable: RESOLUTION_RETRYING_CONSUMER,
      filterSubjects: [subjects.resolutionRetrying(ALL)],
      handler: resolutionRetryingConsumer(workloads),
    },
    {
      stream: STREAM_EVENTS,
      durable: WORKLOAD_STALE_CONSUMER,
      filterSubjects: [subjects.stale(ALL)],
      handler: workloadStaleConsumer(auto, later),
    },
  ];
}
