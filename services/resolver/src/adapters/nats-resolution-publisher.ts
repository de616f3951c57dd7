import {
  eventTypes,
  publishEvent,
  subjects,
  type WorkloadResolutionFailed,
  type WorkloadResolutionRetrying,
  type WorkloadResolved,
} from '@latchkey/events';
import type { ServiceMetrics } from '@latchkey/metrics';
import type { JetStreamClient } from 'nats';
import type { ResolutionPublisher } from '../domain/ports.js';

/**
 * The resolver is stateless: it publishes directly, with event ids derived
 * from the deployment id, so a redelivered `deploying` event that is resolved
 * again is dropped by JetStream's duplicate window.
 */
export class NatsResolutionPublisher implements ResolutionPublisher {
  constructor(
    private readonly js: JetStreamClient,
    /** Counts the references of each resolution published, by source. */
    private readonly metrics?: Pick<ServiceMetrics, 'referencesResolved'>,
  ) {}

  async resolved(ev: WorkloadResolved): Promise<void> {
    await this.#publish(`resolved:${ev.deploymentId}`, eventTypes.resolved, subjects.resolved(ev.domain), ev);
    const vault = ev.versions.filter((v) => v.sourceType === 'VAULT').length;
    this.metrics?.referencesResolved('vault', vault);
    this.metrics?.referencesResolved('managed', ev.versions.length - vault);
  }

  failed(ev: WorkloadResolutionFailed): Promise<void> {
    const id = `resolution_failed:${ev.deploymentId}`;
    return this.#publish(id, eventTypes.resolutionFailed, subjects.resolutionFailed(ev.domain), ev);
  }

  retrying(ev: WorkloadResolutionRetrying): Promise<void> {
    const id = `resolution_retrying:${ev.deploymentId}:${ev.attempt}`;
    return this.#publish(id, eventTypes.resolutionRetrying, subjects.resolutionRetrying(ev.domain), ev);
  }

  async #publish(id: string, type: string, subject: string, data: object): Promise<void> {
    await publishEvent(this.js, 'latchkey/resolver', { id, type, subject, data });
  }
}
