import { randomUUID } from 'node:crypto';
import { LatchkeyError } from '@latchkey/errors';
import { GLOBAL_SCOPE, type ReferenceSpec } from '@latchkey/events';
import type { Queryable } from '@latchkey/db';

/**
 * The delete of a secret or a Vault integration against the workloads that
 * reference it, across the catalog's and the deployer's databases. The
 * catalog asks the deployer to check the dependents and, in the same
 * transaction, to raise a fence on what it deletes (beginDeletion); it then
 * deletes in its own database and lifts the fence (endDeletion). Every apply
 * and every new deployment checks the fences of the sources it references
 * (assertNotFenced), in its own transaction. Both sides take the source's
 * advisory lock first (the check exclusive, applies and deployments shared),
 * so either the apply commits before the check, which then counts it as a
 * dependent, or it runs after the fence is up and is refused: a workload
 * applied or deployed between the check and the delete cannot end up
 * referencing a deleted key unnoticed.
 */
export const FENCE_LOCK = 0x4c4b4446; // 'LKDF'

/** The lock (and fence) names a source: `MANAGED:analytics`, `VAULT:<integration id>`. */
const sourceName = (type: string, id: string): string => `${type}:${id}`;

/** The sources and keys a reference may read: a legacy placeholder reads its domain's key, then the global one. */
function reads(domain: string, r: ReferenceSpec): { source: string; key: string }[] {
  if (!r.legacy) return [{ source: sourceName(r.sourceType, r.sourceId), key: r.key }];
  return [
    { source: sourceName('MANAGED', domain), key: r.key },
    { source: sourceName('MANAGED', GLOBAL_SCOPE), key: r.key },
  ];
}

/**
 * Takes the advisory locks of `sources`, in one order for every transaction
 * (so that two never wait for each other), in one statement. It must stay a
 * statement of its own, before the fence read: a READ COMMITTED statement
 * reads with the snapshot it started with, so a read in the statement that
 * waited for a lock would miss the fence its holder committed meanwhile.
 */
async function lock(tx: Queryable, sources: Iterable<string>, mode: 'shared' | 'exclusive'): Promise<void> {
  const sorted = [...new Set(sources)].sort();
  if (sorted.length === 0) return;
  const fn = mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock';
  await tx.query(
    `SELECT ${fn}($1, hashtext(s.name)) FROM (SELECT name FROM unnest($2::text[]) WITH ORDINALITY AS u(name, n) ORDER BY n) AS s`,
    [FENCE_LOCK, sorted],
  );
}

/**
 * In an apply's or a deployment's transaction: refuses references to a key
 * (or a Vault integration) whose deletion is in progress.
 */
export async function assertNotFenced(
  tx: Queryable,
  domain: string,
  references: readonly ReferenceSpec[],
): Promise<void> {
  if (references.length === 0) return;
  const wanted = references.flatMap((r) => reads(domain, r).map((x) => ({ ...x, ref: r })));
  await lock(
    tx,
    wanted.map((w) => w.source),
    'shared',
  );
  const { rows } = await tx.query<{ source: string; key: string | null; created_at: Date }>(
    `SELECT source_type || ':' || source_id AS source, key, created_at FROM deletion_fences
     WHERE source_type || ':' || source_id = ANY ($1::text[]) AND expires_at > now()`,
    [[...new Set(wanted.map((w) => w.source))]],
  );
  if (rows.length === 0) return;
  const hit = wanted.find((w) => rows.some((f) => f.source === w.source && (f.key === null || f.key === w.key)));
  if (!hit) return;
  const [type, ...rest] = hit.source.split(':');
  const id = rest.join(':');
  const what =
    type === 'VAULT'
      ? `Vault integration ${id} (key ${hit.key})`
      : `secret ${hit.key} of ${id === GLOBAL_SCOPE ? 'global scope' : `domain ${id}`}`;
  throw new LatchkeyError(
    'reference.being_deleted',
    `${hit.ref.legacy ? `\${secrets.${hit.ref.key}}` : `reference ${hit.ref.refId}`} reads ${what}, which is being deleted: nothing was changed; put the secret again (or choose another) and retry once the delete is over`,
    { kind: 'failed_precondition', details: { refId: hit.ref.refId } },
  );
}

/**
 * The catalog's check, in the deployer's transaction `tx`: takes the
 * source's lock, runs `dependents` (which reads the reference index in
 * `tx`), and raises a fence on `keys` (every key when undefined) unless
 * there are dependents and the delete is not forced. The fence id, or
 * undefined when refused.
 */
export async function raiseFence<T>(
  tx: Queryable,
  q: { sourceType: string; sourceId: string; keys?: readonly string[]; force: boolean; ttlMs: number },
  dependents: () => Promise<T[]>,
): Promise<{ deletionId: string | undefined; dependents: T[] }> {
  await lock(tx, [sourceName(q.sourceType, q.sourceId)], 'exclusive');
  const found = await dependents();
  if (found.length > 0 && !q.force) return { deletionId: undefined, dependents: found };
  const id = randomUUID();
  const keys: (string | null)[] = q.keys && q.keys.length > 0 ? [...q.keys] : [null];
  await tx.query(
    `INSERT INTO deletion_fences (id, source_type, source_id, key, expires_at)
     SELECT $1, $2, $3, k, now() + make_interval(secs => $5::double precision / 1000) FROM unnest($4::text[]) AS k`,
    [id, q.sourceType, q.sourceId, keys, q.ttlMs],
  );
  return { deletionId: id, dependents: found };
}

/** The catalog's delete is over (done or failed): its fence falls, and any that lapsed with it. */
export async function lowerFence(tx: Queryable, id: string): Promise<void> {
  await tx.query('DELETE FROM deletion_fences WHERE id = $1 OR expires_at <= now()', [id]);
}
