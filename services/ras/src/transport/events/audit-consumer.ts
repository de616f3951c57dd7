import { DURABLES, eventHandler, parseAuditRecord } from '@latchkey/events';
import type { MessageHandler } from '@latchkey/nats';
import type { AuditService } from '../../domain/audit-service.js';

/** ras's durable consumer of LATCHKEY_AUDIT, shared by its replicas. */
export const AUDIT_CONSUMER = DURABLES.rasAudit;
export const AUDIT_SUBJECTS = ['latchkey.audit.>'];

/**
 * Stores each audit record once (by id); the runner acknowledges after the
 * insert committed. A malformed record is refused permanently (term).
 */
export function auditConsumer(audit: AuditService): MessageHandler {
  return eventHandler<unknown>('ras/audit', async (event) => {
    await audit.store(parseAuditRecord(event.data));
  });
}
