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
import type { AutoRedeployService } from '../../domain/staleness/auto-redeploy-service.js';
import type { BusOrigin } from '../../domain/deployments/resolution-check.js';
import type { WorkloadService } from '../../domain/workload-service.js';

// The names come from the bus permission table: only the deployer's NATS user may read or ack them.
export const RESOLVED_CONSUMER = DURABLES.deployerResolved;
export const RESOLUTION_FAILED_CONSUMER = DURABLES.deployerResolutionFailed;
export const SECRET_CHANGED_CONSUMER = DURABLES.deployerSecretChanged;
export const RESOLUTION_RETRYING_CONSUMER = DURABLES.deployerResolutionRetrying;
export const WORKLOAD_STALE_CONSUMER = DURABLES.deployerWorkloadStale;

/** A resolver answer's handler: the event, with where it came from (its subject and source) for the checks. */
const resolverAnswer = <T>(
  name: string,
  type: string,
  handle: (eventId: string, data: T, origin: BusOrigin) => Promise<void>,
): MessageHandler =>
  eventHandler<T>(
    `deployer/${name}`,
    (event, msg) => handle(event.id, event.data, { subject: msg.subject, source: event.source }),
    { type },
  );

export const resolvedConsumer = (w: WorkloadService): MessageHandler =>
  resolverAnswer<WorkloadResolved>('workload.resolved', eventTypes.resolved, (id, ev, origin) =>
    w.onResolved(id, ev, origin),
  );

export const resolutionFailedConsumer = (w: WorkloadService): MessageHandler =>
  resolverAnswer<WorkloadResolutionFailed>(
    'workload.resolution_failed',
    eventTypes.resolutionFailed,
    (id, ev, origin) => w.onResolutionFailed(id, ev, origin),
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
  resolverAnswer<WorkloadResolutionRetrying>(
    'workload.resolution_retrying',
    eventTypes.resolutionRetrying,
    (id, ev, origin) => w.onResolutionRetrying(id, ev, origin),
  );

/** The JSON string an auto workload's `redeployMode` holds, as bytes. */
const AUTO = Buffer.from('"auto"');

/**
 * Whether a workload.stale body may name a workload whose redeploy policy
 * is auto: the handler acts on those only, and a rotation's events mostly
 * name manual ones (100,000 of them are about 13 MB of JSON the deployer
 * parsed to do nothing, issue 18). The deployer writes these events as
 * plain JSON (no letter escaped), so a body without the bytes `"auto"`
 * names no auto workload and is acknowledged unparsed; one that has them
 * anywhere (a workload named auto too) is parsed and judged as before.
 */
export function mayNameAutoWorkload(body: Uint8Array): boolean {
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength).includes(AUTO);
}

/**
 * `workload.stale`: the redeploy policy acts on each workload it names (one
 * replica per event). A workload still in its cooldown is considered again when it ends
 * (`later`: the periodic scan, brought forward). An event without an auto
 * workload is not parsed (mayNameAutoWorkload).
 */
export const workloadStaleConsumer = (auto: AutoRedeployService, later: (inMs: number) => void): MessageHandler =>
  eventHandler<WorkloadStale>(
    'deployer/workload.stale',
    async (event, msg) => {
      const outcomes = await auto.onStale(event.data, () => msg.working());
      const retries = outcomes.flatMap((o) => ('skip' in o && o.retryInMs !== undefined ? [o.retryInMs] : []));
      if (retries.length > 0) later(Math.min(...retries));
    },
    { type: eventTypes.stale, worthDecoding: mayNameAutoWorkload },
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
