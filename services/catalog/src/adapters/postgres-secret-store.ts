import { withTransaction, wrapDbError, type Pool, type Queryable } from '@latchkey/db';
import { auditEvent, auditRecord, enqueueEvents, eventTypes, subjects, type SecretChanged } from '@latchkey/events';
import { storeKey, type SecretStore, type StoredValue } from '../domain/ports.js';
import type { PutResult, ScopeName, SecretMeta } from '../domain/secret-types.js';

interface MetaRow {
  scope: string;
  key: string;
  current_version: number;
  description: string;
  created_at: Date;
  updated_at: Date;
  updated_by: string;
}

const toMeta = (r: MetaRow): SecretMeta => ({
  scope: r.scope,
  key: r.key,
  source: 'MANAGED',
  version: r.current_version,
  description: r.description,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  updatedBy: r.updated_by,
});

function changedEvent(meta: SecretMeta, change: SecretChanged['change']) {
  const data: SecretChanged = {
    scope: meta.scope,
    key: meta.key,
    source: 'MANAGED',
    version: meta.version,
    change,
    by: meta.updatedBy,
  };
  return {
    id: `secret.${change}:${meta.scope}/${meta.key}/${meta.version}`,
    type: eventTypes.secretChanged,
    subject: subjects.secretChanged(meta.scope),
    data,
  };
}

/** The audit record of a committed change: who, which key, which version; never the value. */
function changeAudit(meta: SecretMeta, change: SecretChanged['change'], requestId: string | undefined) {
  return auditEvent(
    auditRecord({
      service: 'catalog',
      actor: meta.updatedBy,
      action: change === 'deleted' ? 'secret.delete' : 'secret.put',
      domain: meta.scope,
      resource: `secret:${meta.key}`,
      outcome: 'ok',
      reason: `version ${meta.version} ${change}`,
      requestId: requestId ?? '',
    }),
  );
}

/** Serialises the changes of one (scope, key) until the transaction ends. */
async function lockKey(tx: Queryable, scope: ScopeName, key: string): Promise<void> {
  await tx.query("SELECT pg_advisory_xact_lock(hashtext('latchkey.secret'), hashtext($1 || '/' || $2))", [scope, key]);
}

/** The database backend: envelope-encrypted versions beside their metadata. */
export class PostgresSecretStore implements SecretStore {
  constructor(private readonly pool: Pool) {}

  async put(input: Parameters<SecretStore['put']>[0]): Promise<PutResult> {
    try {
      return await withTransaction(this.pool, async (tx) => {
        // Changes of one key queue here, so that the statement below starts
        // (and takes its snapshot) after the previous change committed: else
        // `prior` misses a row a concurrent put just created and calls an
        // update 'created'.
        await lockKey(tx, input.scope, input.key);
        // One statement takes the row lock and the next version number, so
        // concurrent puts of one key serialise and never share a version.
        const { rows } = await tx.query<MetaRow & { was_deleted: boolean | null }>(
          `WITH prior AS (SELECT deleted_at IS NOT NULL AS was_deleted FROM secrets WHERE scope = $1 AND key = $2)
           INSERT INTO secrets AS s (scope, key, current_version, description, updated_by)
           VALUES ($1, $2, 1, COALESCE($3, ''), $4)
           ON CONFLICT (scope, key) DO UPDATE SET
             current_version = s.current_version + 1,
             description = COALESCE($3, s.description),
             updated_at = now(),
             updated_by = $4,
             deleted_at = NULL
           RETURNING s.*, (SELECT was_deleted FROM prior) AS was_deleted`,
          [input.scope, input.key, input.description ?? null, input.by],
        );
        const row = rows[0]!;
        const meta = toMeta(row);
        const stored = await input.writeValue(meta.version, tx);
        await tx.query(
          `INSERT INTO secret_versions (scope, key, version, backend, backend_ref, created_by)
           VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (scope, key, version) DO UPDATE SET backend = EXCLUDED.backend, backend_ref = EXCLUDED.backend_ref`,
          [meta.scope, meta.key, meta.version, stored.backend, stored.ref, input.by],
        );
        const change = row.was_deleted === false ? 'updated' : 'created';
        await enqueueEvents(tx, [changedEvent(meta, change), changeAudit(meta, change, input.requestId)]);
        return { meta, change };
      });
    } catch (err) {
      throw wrapDbError(err, 'storing a secret');
    }
  }

  async list(scope: ScopeName): Promise<SecretMeta[]> {
    try {
      const { rows } = await this.pool.query<MetaRow>(
        'SELECT * FROM secrets WHERE scope = $1 AND deleted_at IS NULL ORDER BY key',
        [scope],
      );
      return rows.map(toMeta);
    } catch (err) {
      throw wrapDbError(err, 'listing secrets');
    }
  }

  async listKeys(scope: ScopeName, after: string | undefined, limit: number): Promise<string[]> {
    try {
      // Keyset paging on the primary key (scope, key): each page costs its own size.
      const { rows } =
        after === undefined
          ? await this.pool.query<{ key: string }>(
              'SELECT key FROM secrets WHERE scope = $1 AND deleted_at IS NULL ORDER BY key LIMIT $2',
              [scope, limit],
            )
          : await this.pool.query<{ key: string }>(
              'SELECT key FROM secrets WHERE scope = $1 AND key > $2 AND deleted_at IS NULL ORDER BY key LIMIT $3',
              [scope, after, limit],
            );
      return rows.map((r) => r.key);
    } catch (err) {
      throw wrapDbError(err, 'listing secret keys');
    }
  }

  async delete(scope: ScopeName, key: string, by: string, requestId?: string): Promise<SecretMeta | undefined> {
    try {
      return await withTransaction(this.pool, async (tx) => {
        await lockKey(tx, scope, key);
        const { rows } = await tx.query<MetaRow>(
          `UPDATE secrets SET deleted_at = now(), updated_at = now(), updated_by = $3
           WHERE scope = $1 AND key = $2 AND deleted_at IS NULL RETURNING *`,
          [scope, key, by],
        );
        const row = rows[0];
        if (!row) return undefined;
        // The metadata row stays so that versions keep counting up; the
        // service removes the values from their backend after this commits.
        await tx.query('DELETE FROM secret_versions WHERE scope = $1 AND key = $2', [scope, key]);
        const meta = toMeta(row);
        await enqueueEvents(tx, [changedEvent(meta, 'deleted'), changeAudit(meta, 'deleted', requestId)]);
        return meta;
      });
    } catch (err) {
      throw wrapDbError(err, 'deleting a secret');
    }
  }

  async readCurrent(items: { scope: ScopeName; key: string }[]): Promise<Map<string, StoredValue>> {
    const out = new Map<string, StoredValue>();
    if (items.length === 0) return out;
    try {
      const { rows } = await this.pool.query<{
        scope: string;
        key: string;
        version: number;
        backend: string;
        backend_ref: string;
      }>(
        `SELECT v.scope, v.key, v.version, v.backend, v.backend_ref
         FROM unnest($1::text[], $2::text[]) AS q(scope, key)
         JOIN secrets s ON s.scope = q.scope AND s.key = q.key AND s.deleted_at IS NULL
         JOIN secret_versions v ON v.scope = s.scope AND v.key = s.key AND v.version = s.current_version`,
        [items.map((i) => i.scope), items.map((i) => i.key)],
      );
      for (const r of rows) {
        out.set(storeKey(r.scope, r.key), { version: r.version, backend: r.backend, ref: r.backend_ref });
      }
      return out;
    } catch (err) {
      throw wrapDbError(err, 'reading secret values');
    }
  }
}
