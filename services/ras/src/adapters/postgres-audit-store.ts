import { wrapDbError, type Pool } from '@latchkey/db';
import type { AuditOutcome, AuditRecord, AuditService } from '@latchkey/events';
import type { AuditQuery, AuditStore } from '../domain/ports.js';

interface Row {
  id: string;
  at: Date;
  service: string;
  actor: string;
  groups: string[];
  action: string;
  domain: string;
  resource: string;
  outcome: string;
  reason: string;
  request_id: string;
}

/** The table's CHECK keeps outcome to the four outcomes; service was checked before the insert. */
const toRecord = (r: Row): AuditRecord => ({
  id: r.id,
  at: r.at.toISOString(),
  service: r.service as AuditService,
  actor: r.actor,
  ...(r.groups.length > 0 ? { groups: r.groups } : {}),
  action: r.action,
  domain: r.domain,
  resource: r.resource,
  outcome: r.outcome as AuditOutcome,
  reason: r.reason,
  requestId: r.request_id,
});

/** ras's audit table (migrations/005_audit_records.sql). */
export class PostgresAuditStore implements AuditStore {
  constructor(private readonly pool: Pool) {}

  async insert(r: AuditRecord): Promise<boolean> {
    try {
      const res = await this.pool.query(
        `INSERT INTO audit_records (id, at, service, actor, groups, action, domain, resource, outcome, reason, request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (id) DO NOTHING`,
        [
          r.id,
          r.at,
          r.service,
          r.actor,
          r.groups ?? [],
          r.action,
          r.domain,
          r.resource,
          r.outcome,
          r.reason,
          r.requestId,
        ],
      );
      return res.rowCount === 1;
    } catch (err) {
      throw wrapDbError(err, 'storing an audit record');
    }
  }

  async list(q: AuditQuery): Promise<AuditRecord[]> {
    try {
      const { rows } = await this.pool.query<Row>(
        `SELECT id, at, service, actor, groups, action, domain, resource, outcome, reason, request_id
         FROM audit_records
         WHERE ($1::text IS NULL OR domain = $1)
           AND ($2::timestamptz IS NULL OR at >= $2)
           AND ($3::text IS NULL OR actor = $3)
           AND ($4::timestamptz IS NULL OR (at, id) < ($4::timestamptz, $5::text))
         ORDER BY at DESC, id DESC
         LIMIT $6`,
        [q.domain ?? null, q.since ?? null, q.actor ?? null, q.before?.at ?? null, q.before?.id ?? null, q.limit],
      );
      return rows.map(toRecord);
    } catch (err) {
      throw wrapDbError(err, 'listing audit records');
    }
  }
}
