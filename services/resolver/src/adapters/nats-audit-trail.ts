import type { JetStreamClient } from 'nats';
import { auditEvent, publishEvent, type AuditRecord } from '@latchkey/events';
import type { AuditTrail } from '../domain/ports.js';

/**
 * Publishes each record to LATCHKEY_AUDIT and resolves once JetStream has
 * acknowledged it (Nats-Msg-Id = record id: a repeat is stored once). With
 * no stream to take it (deleted, or NATS down) it throws.
 */
export class NatsAuditTrail implements AuditTrail {
  constructor(private readonly js: JetStreamClient) {}

  async write(record: AuditRecord): Promise<void> {
    await publishEvent(this.js, 'latchkey/resolver', auditEvent(record));
  }
}
