import { auditEvent, auditRecord, eventTypes, subjects, type SecretChanged } from '@latchkey/events';
import { columnList, type Queryable } from '@latchkey/db';
import type { ScopeName, SecretMeta } from '../domain/secrets/secret-types.js';

/** The rows of the managed store and the events written with them, shared by its adapters. */

export interface MetaRow {
  scope: string;
  key: string;
  current_version: number;
  description: string;
  created_at: Date;
  updated_at: Date;
  updated_by: string;
  rotate_every_seconds: number | null;
  /** When the current version was created; a put writes it in the transaction that sets updated_at. */
  version_created_at?: Date | null;
}

export const toMeta = (r: MetaRow): SecretMeta => ({
  scope: r.scope,
  key: r.key,
  source: 'MANAGED',
  version: r.current_version,
  description: r.description,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  updatedBy: r.updated_by,
  rotateEverySeconds: r.rotate_every_seconds,
  versionCreatedAt: r.version_created_at ?? r.updated_at,
});

/**
 * Every column of secrets, listed rather than `*`: a statement with its
 * columns listed is prepared once per connection (libs/db) and keeps its
 * result type when a migration adds a column. postgres-columns.test.ts holds
 * the list equal to the migrated table.
 */
export const SECRET_COLUMN_NAMES = [
  'scope',
  'key',
  'source',
  'current_version',
  'description',
  'created_at',
  'updated_at',
  'updated_by',
  'deleted_at',
  'rotate_every_seconds',
  'recover_until',
] as const;

/** The columns of secrets as `s.scope, s.key, …`. */
export const SECRET_COLUMNS = columnList(SECRET_COLUMN_NAMES, 's');

/** Metadata with the creation time of the current version. */
export const META_COLUMNS = `${SECRET_COLUMNS}, (SELECT v.created_at FROM secret_versions v
  WHERE v.scope = s.scope AND v.key = s.key AND v.version = s.current_version) AS version_created_at`;

/** `idSuffix` tells apart events of one version that are not the same change (a restore). */
export function changedEvent(meta: SecretMeta, change: SecretChanged['change'], idSuffix = '') {
  const data: SecretChanged = {
    scope: meta.scope,
    key: meta.key,
    source: 'MANAGED',
    version: meta.version,
    change,
    by: meta.updatedBy,
  };
  return {
    id: `secret.${change}:${meta.scope}/${meta.key}/${meta.version}${idSuffix}`,
    type: eventTypes.secretChanged,
    subject: subjects.secretChanged(meta.scope),
    data,
  };
}

/** The audit record of a committed change: who, which key, which version; never the value. */
export function changeAudit(
  meta: SecretMeta,
  change: SecretChanged['change'],
  requestId: string | undefined,
  how?: { action: string; reason: string },
) {
  return auditEvent(
    auditRecord({
      service: 'catalog',
      actor: meta.updatedBy,
      action: how?.action ?? (change === 'deleted' ? 'secret.delete' : 'secret.put'),
      domain: meta.scope,
      resource: `secret:${meta.key}`,
      outcome: 'ok',
      reason: how?.reason ?? `version ${meta.version} ${change}`,
      requestId: requestId ?? '',
    }),
  );
}

/**
 * Moves the versions beyond the newest `keep` (of one key, or of every key)
 * to secret_destructions: their metadata goes, their values wait for the
 * backend. Returns how many.
 */
export async function queueBeyondKept(tx: Queryable, keep: number, only?: { scope: string; key: string }) {
  const { rowCount } = await tx.query(
    `WITH ranked AS (
       SELECT scope, key, version, row_number() OVER (PARTITION BY scope, key ORDER BY version DESC) AS rn
       FROM secret_versions WHERE $2::text IS NULL OR (scope = $2 AND key = $3)
     ), moved AS (
       DELETE FROM secret_versions v USING ranked r
       WHERE r.rn > $1 AND v.scope = r.scope AND v.key = r.key AND v.version = r.version
       RETURNING v.scope, v.key, v.version, v.backend, v.backend_ref
     )
     INSERT INTO secret_destructions (scope, key, version, backend, backend_ref, reason)
     SELECT scope, key, version, backend, backend_ref, 'retention' FROM moved
     ON CONFLICT DO NOTHING`,
    [keep, only?.scope ?? null, only?.key ?? null],
  );
  return rowCount ?? 0;
}

/** Serialises the changes of one (scope, key) until the transaction ends. */
export async function lockKey(tx: Queryable, scope: ScopeName, key: string): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock(hashtext('latchkey.secret'), hashtext($1 || '/' || $2))", [scope, key]);
}
