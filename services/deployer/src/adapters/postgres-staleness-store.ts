import { withTransaction, type Pool } from '@latchkey/db';
import { eventTypes, STALE_WORKLOADS_PER_EVENT, subjects, type SecretChanged } from '@latchkey/events';
import { injectTraceHeaders } from '@latchkey/logger';
import type { StaleMarks } from '../domain/ports.js';
import { dbCall } from './postgres-rows.js';

/** `latchkey.workload.stale.<domain>` without the domain, for events built in SQL. */
const STALE_SUBJECT_PREFIX = subjects.stale('');

/**
 * Dependents: the workloads whose live deployment received an older
 * version of this secret from this source (for VAULT, scope is the
 * integration id; a domain may look like one, hence the source type);
 * and, when a domain key appears, those whose ${secrets.KEY} fell back
 * to the global one it now shadows. A direct hit wins over a shadowed one.
 *
 * One statement marks them and writes their workload.stale events to the
 * outbox, in this transaction: one event per domain and per
 * STALE_WORKLOADS_PER_EVENT dependents ($11), built by PostgreSQL as the
 * compact JSON text enqueueEvents would store (every string through
 * to_json, so names are escaped as JSON escapes them; string_agg of text is
 * a third of the cost of jsonb_agg of jsonb_build_object for 100,000, issue
 * 18), so a rotation with 100,000 dependents is about 100 outbox rows and
 * 100 publishes, and nothing but two counts comes back to the deployer.
 *
 * The statement covers the dependents whose live deployment id lies in
 * [$12, $13) ($13 NULL: no upper bound): markStale runs one per partition
 * of the id space at once, each in its own transaction (see
 * STALE_MARK_PARTITIONS). Event ids are
 * `stale:<secret.changed id>:<domain>:<partition>.<n>`.
 */
const MARK_STALE = `WITH direct AS (
     SELECT dv.deployment_id, min(dv.version) AS deployed_version, false AS shadowed
     FROM deployment_versions dv
     WHERE dv.scope = $1 AND dv.key = $2 AND dv.source_type = $5
       AND (dv.version < $3 OR $4 = 'deleted')
       AND dv.deployment_id >= $12::uuid AND ($13::uuid IS NULL OR dv.deployment_id < $13::uuid)
     GROUP BY dv.deployment_id
   ), hit AS (
     SELECT deployment_id, deployed_version, shadowed FROM direct
     UNION ALL
     SELECT dv.deployment_id, min(dv.version), true
     FROM deployment_versions dv
     WHERE $5 = 'MANAGED' AND $4 = 'created' AND $1 <> 'global'
       AND dv.scope = 'global' AND dv.key = $2 AND dv.source_type = 'MANAGED' AND dv.ref_id LIKE 'LEGACY:%'
       AND dv.deployment_id >= $12::uuid AND ($13::uuid IS NULL OR dv.deployment_id < $13::uuid)
       AND NOT EXISTS (SELECT 1 FROM direct d WHERE d.deployment_id = dv.deployment_id)
     GROUP BY dv.deployment_id
   ), marked AS (
     UPDATE workloads w SET stale = true, updated_at = now(),
       stale_since = CASE WHEN w.stale THEN coalesce(w.stale_since, now()) ELSE coalesce($10::timestamptz, now()) END,
       stale_reasons = w.stale_reasons || jsonb_build_array(jsonb_build_object(
         'scope', $1::text, 'key', $2::text, 'deployedVersion', hit.deployed_version,
         'currentVersion', CASE WHEN $4 = 'deleted' THEN 0 ELSE $3 END, 'change', $4::text))
     FROM hit WHERE w.last_deployment_id = hit.deployment_id AND (NOT hit.shadowed OR w.domain = $1)
     RETURNING w.id, w.name, w.domain, hit.deployed_version,
       CASE WHEN w.spec -> 'redeployPolicy' ->> 'mode' = 'auto' THEN 'auto' ELSE 'manual' END AS mode
   ), chunked AS (
     SELECT m.id, m.name, m.domain, m.deployed_version, m.mode,
       (row_number() OVER (PARTITION BY m.domain ORDER BY m.name) - 1) / $11::int AS chunk FROM marked m
   ), queued AS (
     INSERT INTO outbox (id, subject, type, data, trace)
     SELECT 'stale:' || $6::text || ':' || c.domain || ':' || $14::int || '.' || c.chunk, $7::text || c.domain, $8::text,
       ('{"domain":' || to_json(c.domain)::text
         || ',"changed":{"scope":' || to_json($1::text)::text || ',"key":' || to_json($2::text)::text
         || ',"currentVersion":' || (CASE WHEN $4 = 'deleted' THEN 0 ELSE $3::int END)::text
         || ',"change":' || to_json($4::text)::text || '}'
         || ',"workloads":[' || string_agg('{"workloadId":"' || c.id::text || '","workload":' || to_json(c.name)::text
              || ',"deployedVersion":' || c.deployed_version::text || ',"redeployMode":"' || c.mode || '"}', ',' ORDER BY c.name)
         || ']}')::json,
       $9::jsonb
     FROM chunked c GROUP BY c.domain, c.chunk
     ON CONFLICT (id) DO NOTHING
     RETURNING 1
   )
   SELECT (SELECT count(*) FROM marked)::int AS marked, (SELECT count(*) FROM queued)::int AS events`;

/**
 * A rotation's dependents are marked in this many partitions at once, each
 * a transaction of its own on its own connection: PostgreSQL runs one
 * statement on one core, and with 100,000 dependents the mark is CPU-bound
 * (2.4 s in one statement, 1.5 s in two halves side by side on 2 cores,
 * issue 18). Each partition is claimed apart (`<event id>#<p>/<n>`), so a
 * redelivery after a partial failure redoes only the partitions that did
 * not commit.
 */
export const STALE_MARK_PARTITIONS = 2;

/** The lower bound of partition `p` of `n` in the UUID order (random v4 ids spread evenly). */
export function partitionStart(p: number, n: number): string {
  const head = Math.floor((p * 0x1_0000_0000) / n)
    .toString(16)
    .padStart(8, '0');
  return `${head}-0000-0000-0000-000000000000`;
}

/** Claims partition `p` of one secret.changed event, unless the event was handled whole before partitions (an older deployer). */
const CLAIM_PARTITION = `INSERT INTO processed_events (consumer, event_id)
  SELECT $1::text, $2::text || '#' || $3::text
  WHERE NOT EXISTS (SELECT 1 FROM processed_events WHERE consumer = $1 AND event_id = $2)
  ON CONFLICT DO NOTHING`;

const CONSUMER = 'deployer-secret-changed';

/** Staleness: the dependents of a changed secret marked stale, with their events, once per event. */
export class PostgresStalenessStore {
  /**
   * `perEvent`: the most workloads one workload.stale event names (tests make it small);
   * `partitions`: how many transactions mark one rotation's dependents at once.
   */
  constructor(
    private readonly pool: Pool,
    private readonly perEvent = STALE_WORKLOADS_PER_EVENT,
    private readonly partitions = STALE_MARK_PARTITIONS,
  ) {}

  /**
   * Every partition is tried, side by side; when one fails the others
   * still commit (each is claimed apart), and the error is thrown after
   * all have ended, so nothing of this call is still running when it fails.
   */
  async markStale(eventId: string, change: SecretChanged, now?: Date): Promise<StaleMarks> {
    const n = this.partitions;
    const results = await Promise.allSettled(
      Array.from({ length: n }, (_, p) => this.markPartition(eventId, change, now, p)),
    );
    const sum: StaleMarks = { marked: 0, events: 0 };
    for (const r of results) {
      if (r.status === 'rejected') throw r.reason;
      sum.marked += r.value.marked;
      sum.events += r.value.events;
    }
    return sum;
  }

  private markPartition(eventId: string, change: SecretChanged, now: Date | undefined, p: number): Promise<StaleMarks> {
    const n = this.partitions;
    // Planned for each partition's bounds and key: a generic plan made the marks of 100,000 dependents
    // 1.4 s -> 1.9 s in the bench (issue 18).
    return dbCall('marking workloads stale', () =>
      withTransaction(
        this.pool,
        async (tx) => {
          const claimed = await tx.query(CLAIM_PARTITION, [CONSUMER, eventId, `${p + 1}/${n}`]);
          if (claimed.rowCount !== 1) return { marked: 0, events: 0 };
          const source = change.source === 'VAULT' ? 'VAULT' : 'MANAGED';
          const trace: Record<string, string> = {};
          injectTraceHeaders(trace);
          const { rows } = await tx.query<StaleMarks>(MARK_STALE, [
            change.scope,
            change.key,
            change.version,
            change.change,
            source,
            eventId,
            STALE_SUBJECT_PREFIX,
            eventTypes.stale,
            JSON.stringify(trace),
            now ?? null,
            this.perEvent,
            partitionStart(p, n),
            p + 1 < n ? partitionStart(p + 1, n) : null,
            p,
          ]);
          return rows[0] ?? { marked: 0, events: 0 };
        },
        { plans: 'custom' },
      ),
    );
  }
}
