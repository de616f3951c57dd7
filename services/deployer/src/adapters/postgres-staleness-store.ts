import { withTransaction, type Pool } from '@latchkey/db';
import { claimEvent, eventTypes, subjects, type SecretChanged, type WorkloadStale } from '@latchkey/events';
import { injectTraceHeaders } from '@latchkey/logger';
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
 * One statement marks them and writes each one's workload.stale event
 * to the outbox, in this transaction: the events are built by
 * PostgreSQL (as enqueueEvents would store them), so a rotation with
 * 100,000 dependents does not ship 100,000 events to the deployer and
 * back before it can commit.
 */
const MARK_STALE = `WITH candidate AS (
     SELECT w.id, dv.version AS deployed_version, dv.scope, 0 AS rank
     FROM deployment_versions dv JOIN workloads w ON w.last_deployment_id = dv.deployment_id
     WHERE dv.scope = $1 AND dv.key = $2 AND dv.source_type = $5
       AND (dv.version < $3 OR $4 = 'deleted')
     UNION ALL
     SELECT w.id, dv.version, dv.scope, 1
     FROM deployment_versions dv JOIN workloads w ON w.last_deployment_id = dv.deployment_id
     WHERE $5 = 'MANAGED' AND $4 = 'created' AND $1 <> 'global'
       AND dv.scope = 'global' AND dv.key = $2 AND dv.source_type = 'MANAGED'
       AND dv.ref_id LIKE 'LEGACY:%' AND w.domain = $1
   ), hit AS (
     SELECT DISTINCT ON (id) id, deployed_version, jsonb_build_object(
       'scope', $1::text, 'key', $2::text, 'deployedVersion', deployed_version,
       'currentVersion', CASE WHEN $4 = 'deleted' THEN 0 ELSE $3 END, 'change', $4::text) AS reason
     FROM candidate ORDER BY id, rank
   ), marked AS (
     UPDATE workloads w SET stale = true, updated_at = now(),
       stale_since = CASE WHEN w.stale THEN coalesce(w.stale_since, now()) ELSE coalesce($10::timestamptz, now()) END,
       stale_reasons = w.stale_reasons || jsonb_build_array(hit.reason)
     FROM hit WHERE w.id = hit.id
     RETURNING w.id, w.name, w.domain, hit.deployed_version, hit.reason,
       CASE WHEN w.spec -> 'redeployPolicy' ->> 'mode' = 'auto' THEN 'auto' ELSE 'manual' END AS mode
   ), queued AS (
     INSERT INTO outbox (id, subject, type, data, trace)
     SELECT 'stale:' || m.id || ':' || $6::text, $7::text || m.domain, $8::text,
       jsonb_build_object('workloadId', m.id, 'workload', m.name, 'domain', m.domain,
         'changed', jsonb_build_array(m.reason), 'redeployMode', m.mode),
       $9::jsonb
     FROM marked m
     ON CONFLICT (id) DO NOTHING
   )
   SELECT id, name, domain, deployed_version, mode FROM marked`;

/** Staleness: the dependents of a changed secret marked stale, with their events, once per event. */
export class PostgresStalenessStore {
  constructor(private readonly pool: Pool) {}

  markStale(eventId: string, change: SecretChanged, now?: Date): Promise<WorkloadStale[]> {
    return dbCall('marking workloads stale', () =>
      withTransaction(this.pool, async (tx) => {
        if (!(await claimEvent(tx, 'deployer-secret-changed', eventId))) return [];
        const source = change.source === 'VAULT' ? 'VAULT' : 'MANAGED';
        const trace: Record<string, string> = {};
        injectTraceHeaders(trace);
        const { rows } = await tx.query<{
          id: string;
          name: string;
          domain: string;
          deployed_version: number;
          mode: 'manual' | 'auto';
        }>(MARK_STALE, [
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
        ]);
        return rows.map((r) => ({
          workloadId: r.id,
          workload: r.name,
          domain: r.domain,
          changed: [
            {
              scope: change.scope,
              key: change.key,
              deployedVersion: r.deployed_version,
              currentVersion: change.change === 'deleted' ? 0 : change.version,
              change: change.change,
            },
          ],
          redeployMode: r.mode,
        }));
      }),
    );
  }
}
