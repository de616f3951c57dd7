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

interface PendingInsert {
  record: AuditRecord;
  resolve: (inserted: boolean) => void;
  reject: (err: unknown) => void;
}

/** The most records one statement inserts. */
const INSERT_BATCH = 200;

/**
 * ras's audit table (migrations/005_audit_records.sql). Inserts are grouped:
 * one goes at once; those that arrive while a statement is in flight go
 * together in the next one (the audit consumer handles several messages at a
 * time, about six records a deployment). Each caller learns when its own
 * record is stored, so a message is acknowledged only after that.
 */
export class PostgresAuditStore implements AuditStore {
  #queue: PendingInsert[] = [];
  #writing = false;

  constructor(private readonly pool: Pool) {}

  insert(record: AuditRecord): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.#queue.push({ record, resolve, reject });
      if (!this.#writing) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, INSERT_BATCH);
        try {
          const inserted = await this.#insertMany(batch.map((p) => p.record));
          // A record listed twice in one batch is inserted once: the first caller is told so.
          const told = new Set<string>();
          for (const p of batch) {
            const fresh = inserted.has(p.record.id) && !told.has(p.record.id);
            told.add(p.record.id);
            p.resolve(fresh);
          }
        } catch (err) {
          const failure = wrapDbError(err, 'storing an audit record');
          for (const p of batch) p.reject(failure);
        }
      }
    } finally {
      this.#writing = false;
    }
  }

  /** The ids that were new (a redelivered record is kept already: ON CONFLICT DO NOTHING). */
  async #insertMany(records: AuditRecord[]): Promise<Set<string>> {
    const col = <T>(f: (r: AuditRecord) => T) => records.map(f);
    const { rows } = await this.pool.query<{ id: string }>(
      `INSERT INTO audit_records (id, at, service, actor, groups, action, domain, resource, outcome, reason, request_id)
       SELECT r.id, r.at, r.service, r.actor, ARRAY(SELECT jsonb_array_elements_text(r.groups)), r.action, r.domain,
              r.resource, r.outcome, r.reason, r.request_id
         FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::jsonb[], $6::text[], $7::text[],
                     $8::text[], $9::text[], $10::text[], $11::text[])
              AS r (id, at, service, actor, groups, action, domain, resource, outcome, reason, request_id)
       ON CONFLICT (id) DO NOTHING
       RETURNING id`,
      [
        col((r) => r.id),
        col((r) => r.at),
        col((r) => r.service),
        col((r) => r.actor),
        col((r) => JSON.stringify(r.groups ?? [])),
        col((r) => r.action),
        col((r) => r.domain),
        col((r) => r.resource),
        col((r) => r.outcome),
        col((r) => r.reason),
        col((r) => r.requestId),
      ],
    );
    return new Set(rows.map((r) => r.id));
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
