import { wrapDbError, type Pool } from '@latchkey/db';
import { decisionUnaudited } from '../domain/audit-errors.js';
import { auditEvent, enqueueEvents, type AuditRecord } from '@latchkey/events';
import type { DecisionAudit } from '../domain/ports.js';

/**
 * Decision records in ras's outbox: one multi-row insert per Check or
 * CheckBatch, committed before the answer goes out; the outbox relay then
 * publishes them to the audit stream (and ras's audit consumer stores them).
 * A ras killed right after it answered has them on disk, and relays them
 * after its restart. When the insert fails, the decision is not answered
 * (audit.unavailable, retryable): ras never answers unrecorded.
 */
export class PostgresDecisionAudit implements DecisionAudit {
  constructor(
    private readonly pool: Pool,
    /** Called after records were committed (kicks the outbox relay). */
    private readonly onCommit: () => void,
  ) {}

  async record(records: readonly AuditRecord[]): Promise<void> {
    if (records.length === 0) return;
    try {
      await enqueueEvents(this.pool, records.map(auditEvent));
    } catch (err) {
      const cause = wrapDbError(err, 'storing decision audit records');
      throw decisionUnaudited(cause);
    }
    this.onCommit();
  }
}
