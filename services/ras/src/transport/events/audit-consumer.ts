import { DURABLES, eventHandler, eventTypes, parseAuditRecord, STREAM_AUDIT, subjects } from '@latchkey/events';
import type { DurableConsumer, MessageHandler } from '@latchkey/nats';
import type { AuditService } from '../../domain/audit-service.js';

/** ras's durable consumer of LATCHKEY_AUDIT, shared by its replicas. */
export const AUDIT_CONSUMER = DURABLES.rasAudit;
export const AUDIT_SUBJECTS = [subjects.allAudit()];

/**
 * Stores each audit record once (by id); the runner acknowledges after the
 * insert committed. A malformed record is refused permanently (term).
 */
export function auditConsumer(audit: AuditService): MessageHandler {
  return eventHandler<unknown>(
    'ras/audit',
    async (event) => {
      await audit.store(parseAuditRecord(event.data));
    },
    { type: eventTypes.audit },
  );
}

/** The audit consumer as the service bootstrap runs it: many records at once, each insert its own. */
export const auditConsumerSpec = (audit: AuditService): DurableConsumer => ({
  stream: STREAM_AUDIT,
  durable: AUDIT_CONSUMER,
  filterSubjects: AUDIT_SUBJECTS,
  handler: auditConsumer(audit),
  concurrency: 32,
});
