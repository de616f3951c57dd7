import {
  eventTypes,
  publishEvent,
  subjects,
  type WorkloadResolutionFailed,
  type WorkloadResolutionRetrying,
  type WorkloadResolved,
} from '@latchkey/events';
import type { JetStreamClient } from 'nats';
import type { ResolutionPublisher } from '../domain/ports.js';

/**
 * The resolver is stateless: it publishes directly, with event ids derived
 * from the deployment id, so a redelivered `deploying` event that is resolved
 * again is dropped by JetStream's duplicate window.
 */
export class NatsResolutionPublisher implements ResolutionPublisher {
  constructor(private readonly js: JetStreamClient) {}

  async resolved(ev: WorkloadResolved): Promise<void> {
    await publishEvent(this.js, 'latchkey/resolver', {
      id: `resolved:${ev.deploymentId}`,
      type: eventTypes.resolved,
      subject: subjects.resolved(ev.domain),
      data: ev,
    });
  }

  async failed(ev: WorkloadResolutionFailed): Promise<void> {
    await publishEvent(this.js, 'latchkey/resolver', {
      id: `resolution_failed:${ev.deploymentId}`,
      type: eventTypes.resolutionFailed,
      subject: subjects.resolutionFailed(ev.domain),
      data: ev,
    });
  }

  async retrying(ev: WorkloadResolutionRetrying): Promise<void> {
    await publishEvent(this.js, 'latchkey/resolver', {
      id: `resolution_retrying:${ev.deploymentId}:${ev.attempt}`,
      type: eventTypes.resolutionRetrying,
      subject: subjects.resolutionRetrying(ev.domain),
      data: ev,
    });
  }
}
