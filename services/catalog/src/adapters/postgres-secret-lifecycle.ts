import { withTransaction, wrapDbError, type Pool, type Queryable } from '@latchkey/db';
import { auditEvent, auditRecord, enqueueEvents } from '@latchkey/events';
import type { DeleteOutcome, SecretLifecycleStore } from '../domain/ports.js';
import type { DeletedSecret, PendingDestruction, ScopeName, VersionInfo } from '../domain/secrets/secret-types.js';
import {
  changeAudit,
  changedEvent,
  lockKey,
  META_COLUMNS,
  queueBeyondKept,
  toMeta,
  type MetaRow,
} from './postgres-secret-rows.js';

interface VersionRow {
  version: number;
  created_at: Date;
  created_by: string;
  backend: string;
  backend_ref: string;
  disabled_at: Date | null;
  disabled_by: string | null;
  rolled_back_from: number | null;
}

const toVersion = (r: VersionRow): VersionInfo => ({
  version: r.version,
  createdAt: r.created_at,
  createdBy: r.created_by,
  backend: r.backend,
  ref: r.backend_ref,
  disabledAt: r.disabled_at,
  disabledBy: r.disabled_by,
  rolledBackFrom: r.rolled_back_from,
});

interface DestructionRow {
  scope: string;
  key: string;
  version: number;
  backend: string;
  backend_ref: string;
}

/** How many expired deletes one sweep transaction destroys. */
const EXPIRED_BATCH = 500;

/** Moves every version of the keys to secret_destructions (reason `deleted`). */
async function queueAllVersions(tx: Queryable, keys: { scope: string; key: string }[]): Promise<number> {
  if (keys.length === 0) return 0;
  const { rowCount } = await tx.query(
    `WITH moved AS (
       DELETE FROM secret_versions v USING unnest($1::text[], $2::text[]) AS q(scope, key)
       WHERE v.scope = q.scope AND v.key = q.key
       RETURNING v.scope, v.key, v.version, v.backend, v.backend_ref
     )
     INSERT INTO secret_destructions (scope, key, version, backend, backend_ref, reason)
     SELECT scope, key, version, backend, backend_ref, 'deleted' FROM moved
     ON CONFLICT DO NOTHING`,
    [keys.map((k) => k.scope), keys.map((k) => k.key)],
  );
  await tx.query(
    `DELETE FROM rotation_due r USING unnest($1::text[], $2::text[]) AS q(scope, key)
     WHERE r.scope = q.scope AND r.key = q.key`,
    [keys.map((k) => k.scope), keys.map((k) => k.key)],
  );
  return rowCount ?? 0;
}

const destroyAudit = (scope: string, key: string, actor: string, reason: string, requestId = '') =>
  auditEvent(
    auditRecord({
      service: 'catalog',
      actor,
      action: 'secret.destroy',
      domain: scope,
      resource: `secret:${key}`,
      outcome: 'ok',
      reason,
      requestId,
    }),
  );

/** Deletes with a recovery window, restores, versions and the queue of values to destroy. */
export class PostgresSecretLifecycle implements SecretLifecycleStore {
  constructor(private readonly pool: Pool) {}

  async delete(input: Parameters<SecretLifecycleStore['delete']>[0]): Promise<DeleteOutcome> {
    const { scope, key, by, recoveryDays, requestId } = input;
    try {
      return await withTransaction(this.pool, async (tx): Promise<DeleteOutcome> => {
        await lockKey(tx, scope, key);
        const { rows: before } = await tx.query<{ deleted: boolean; recover_until: Date | null }>(
          'SELECT deleted_at IS NOT NULL AS deleted, recover_until FROM secrets WHERE scope = $1 AND key = $2',
          [scope, key],
        );
        const prior = before[0];
        if (!prior || (prior.deleted && prior.recover_until === null)) return { kind: 'missing' };
        if (prior.deleted && prior.recover_until !== null) {
          if (recoveryDays > 0) return { kind: 'pending', recoverUntil: prior.recover_until };
          // Destroy now what an earlier delete left recoverable: no new secret.changed (that delete announced it).
          const { rows } = await tx.query<MetaRow>(
            `UPDATE secrets s SET recover_until = NULL WHERE s.scope = $1 AND s.key = $2 RETURNING ${META_COLUMNS}`,
            [scope, key],
          );
          await queueAllVersions(tx, [{ scope, key }]);
          await enqueueEvents(tx, [
            destroyAudit(scope, key, by, 'destroyed before its recovery window ended (--recovery-days 0)', requestId),
          ]);
          return { kind: 'destroyed', meta: toMeta(rows[0]!) };
        }
        const { rows } = await tx.query<MetaRow & { recover_until: Date | null }>(
          `UPDATE secrets s SET deleted_at = now(), updated_at = now(), updated_by = $3,
             recover_until = CASE WHEN $4::integer > 0 THEN now() + make_interval(days => $4::integer) END
           WHERE s.scope = $1 AND s.key = $2 AND s.deleted_at IS NULL RETURNING ${META_COLUMNS}`,
          [scope, key, by, recoveryDays],
        );
        const row = rows[0]!;
        const meta = toMeta(row);
        // The metadata row stays so that versions keep counting up. Recoverable:
        // the versions stay until the window ends; otherwise their values are
        // queued for the backend now.
        if (row.recover_until === null) await queueAllVersions(tx, [{ scope, key }]);
        else await tx.query('DELETE FROM rotation_due WHERE scope = $1 AND key = $2', [scope, key]);
        const reason =
          row.recover_until === null
            ? `version ${meta.version} deleted, values destroyed`
            : `version ${meta.version} deleted, recoverable until ${row.recover_until.toISOString()}`;
        await enqueueEvents(tx, [
          changedEvent(meta, 'deleted'),
          changeAudit(meta, 'deleted', requestId, { action: 'secret.delete', reason }),
        ]);
        return { kind: 'deleted', meta, recoverUntil: row.recover_until };
      });
    } catch (err) {
      throw wrapDbError(err, 'deleting a secret');
    }
  }

  async restore(input: Parameters<SecretLifecycleStore['restore']>[0]) {
    const { scope, key, by, requestId } = input;
    try {
      return await withTransaction(this.pool, async (tx) => {
        await lockKey(tx, scope, key);
        const { rows } = await tx.query<MetaRow & { deleted_at_was: Date }>(
          `WITH was AS (SELECT deleted_at FROM secrets WHERE scope = $1 AND key = $2)
           UPDATE secrets s SET deleted_at = NULL, recover_until = NULL, updated_at = now(), updated_by = $3
           WHERE s.scope = $1 AND s.key = $2 AND s.deleted_at IS NOT NULL AND s.recover_until > now()
           RETURNING ${META_COLUMNS}, (SELECT deleted_at FROM was) AS deleted_at_was`,
          [scope, key, by],
        );
        const row = rows[0];
        if (!row) {
          const present = await tx.query('SELECT 1 FROM secrets WHERE scope = $1 AND key = $2 AND deleted_at IS NULL', [
            scope,
            key,
          ]);
          return present.rows.length > 0 ? { kind: 'present' as const } : { kind: 'missing' as const };
        }
        const meta = toMeta(row);
        // Announced as created (the key is there again), under an id of its own:
        // the version's first `created` may still be in the bus's duplicate window.
        await enqueueEvents(tx, [
          changedEvent(meta, 'created', `/restored-${row.deleted_at_was.getTime()}`),
          changeAudit(meta, 'created', requestId, {
            action: 'secret.restore',
            reason: `version ${meta.version} restored`,
          }),
        ]);
        return { kind: 'restored' as const, meta };
      });
    } catch (err) {
      throw wrapDbError(err, 'restoring a secret');
    }
  }

  async listDeleted(scope: ScopeName): Promise<DeletedSecret[]> {
    try {
      const { rows } = await this.pool.query<MetaRow & { deleted_at: Date; recover_until: Date }>(
        `SELECT ${META_COLUMNS} FROM secrets s
         WHERE s.scope = $1 AND s.deleted_at IS NOT NULL AND s.recover_until IS NOT NULL ORDER BY s.key`,
        [scope],
      );
      return rows.map((r) => ({ meta: toMeta(r), deletedAt: r.deleted_at, recoverUntil: r.recover_until }));
    } catch (err) {
      throw wrapDbError(err, 'listing deleted secrets');
    }
  }

  async versions(scope: ScopeName, key: string) {
    try {
      const { rows } = await this.pool.query<MetaRow & { deleted_at: Date | null; recover_until: Date | null }>(
        `SELECT ${META_COLUMNS} FROM secrets s
         WHERE s.scope = $1 AND s.key = $2 AND (s.deleted_at IS NULL OR s.recover_until IS NOT NULL)`,
        [scope, key],
      );
      const row = rows[0];
      if (!row) return undefined;
      const versions = await this.pool.query<VersionRow>(
        `SELECT version, created_at, created_by, backend, backend_ref, disabled_at, disabled_by, rolled_back_from
         FROM secret_versions WHERE scope = $1 AND key = $2 ORDER BY version DESC`,
        [scope, key],
      );
      return {
        meta: toMeta(row),
        versions: versions.rows.map(toVersion),
        ...(row.deleted_at !== null && row.recover_until !== null ? { recoverUntil: row.recover_until } : {}),
      };
    } catch (err) {
      throw wrapDbError(err, 'listing the versions of a secret');
    }
  }

  async setVersionDisabled(input: Parameters<SecretLifecycleStore['setVersionDisabled']>[0]) {
    const { scope, key, version, disabled, by, requestId } = input;
    try {
      return await withTransaction(this.pool, async (tx) => {
        await lockKey(tx, scope, key);
        const secret = await tx.query<{ deleted: boolean; recover_until: Date | null }>(
          'SELECT deleted_at IS NOT NULL AS deleted, recover_until FROM secrets WHERE scope = $1 AND key = $2',
          [scope, key],
        );
        const s = secret.rows[0];
        if (!s || (s.deleted && s.recover_until === null)) return { kind: 'missing' as const };
        if (s.deleted) return { kind: 'deleted' as const, recoverUntil: s.recover_until! };
        const { rows } = await tx.query<VersionRow & { current: boolean }>(
          `UPDATE secret_versions SET
             disabled_at = CASE WHEN $4::boolean THEN coalesce(disabled_at, now()) END,
             disabled_by = CASE WHEN $4::boolean THEN coalesce(disabled_by, $5) END
           WHERE scope = $1 AND key = $2 AND version = $3
           RETURNING version, created_at, created_by, backend, backend_ref, disabled_at, disabled_by, rolled_back_from,
             version = (SELECT current_version FROM secrets WHERE scope = $1 AND key = $2) AS current`,
          [scope, key, version, disabled, by],
        );
        if (!rows[0]) {
          const kept = await tx.query<{ version: number }>(
            'SELECT version FROM secret_versions WHERE scope = $1 AND key = $2 ORDER BY version DESC',
            [scope, key],
          );
          return { kind: 'no_version' as const, kept: kept.rows.map((r) => r.version) };
        }
        await enqueueEvents(tx, [
          auditEvent(
            auditRecord({
              service: 'catalog',
              actor: by,
              action: disabled ? 'secret.disable' : 'secret.enable',
              domain: scope,
              resource: `secret:${key}`,
              outcome: 'ok',
              reason: `version ${version} ${disabled ? 'disabled' : 'enabled'}`,
              requestId: requestId ?? '',
            }),
          ),
        ]);
        return { kind: 'done' as const, version: toVersion(rows[0]), current: rows[0].current };
      });
    } catch (err) {
      throw wrapDbError(err, 'disabling or enabling a secret version');
    }
  }

  async queueDestructions(now: Date, keep: number) {
    const expired: { scope: string; key: string }[] = [];
    try {
      for (;;) {
        // Rows a restore holds are skipped this round; once this commits, a restore finds no window.
        const batch = await withTransaction(this.pool, async (tx) => {
          const { rows } = await tx.query<{ scope: string; key: string }>(
            `WITH due AS (
               SELECT scope, key FROM secrets WHERE recover_until <= $1
               ORDER BY recover_until LIMIT $2 FOR UPDATE SKIP LOCKED
             )
             UPDATE secrets s SET recover_until = NULL FROM due
             WHERE s.scope = due.scope AND s.key = due.key RETURNING s.scope, s.key`,
            [now, EXPIRED_BATCH],
          );
          await queueAllVersions(tx, rows);
          await enqueueEvents(
            tx,
            rows.map((r) => destroyAudit(r.scope, r.key, 'service:catalog', 'recovery window ended: values destroyed')),
          );
          return rows;
        });
        expired.push(...batch);
        if (batch.length < EXPIRED_BATCH) break;
      }
      const queued = await withTransaction(this.pool, (tx) => queueBeyondKept(tx, keep));
      return { expired, queued };
    } catch (err) {
      throw wrapDbError(err, 'queueing values for destruction');
    }
  }

  async pendingDestructions(limit: number, only?: { scope: ScopeName; key: string }): Promise<PendingDestruction[]> {
    try {
      const { rows } = await this.pool.query<DestructionRow>(
        `SELECT scope, key, version, backend, backend_ref FROM secret_destructions
         WHERE $2::text IS NULL OR (scope = $2 AND key = $3)
         ORDER BY queued_at, scope, key, version LIMIT $1`,
        [limit, only?.scope ?? null, only?.key ?? null],
      );
      return rows.map((r) => ({
        scope: r.scope,
        key: r.key,
        version: r.version,
        backend: r.backend,
        ref: r.backend_ref,
      }));
    } catch (err) {
      throw wrapDbError(err, 'reading the values to destroy');
    }
  }

  async destructionsDone(items: PendingDestruction[]): Promise<void> {
    await this.#byItems(items, 'DELETE FROM secret_destructions d USING', 'recording destroyed values');
  }

  async destructionsFailed(items: PendingDestruction[]): Promise<void> {
    await this.#byItems(
      items,
      'UPDATE secret_destructions d SET attempts = d.attempts + 1 FROM',
      'counting values not destroyed',
    );
  }

  async #byItems(items: PendingDestruction[], statement: string, what: string): Promise<void> {
    if (items.length === 0) return;
    try {
      await this.pool.query(
        `${statement} unnest($1::text[], $2::text[], $3::integer[]) AS q(scope, key, version)
         WHERE d.scope = q.scope AND d.key = q.key AND d.version = q.version`,
        [items.map((i) => i.scope), items.map((i) => i.key), items.map((i) => i.version)],
      );
    } catch (err) {
      throw wrapDbError(err, what);
    }
  }
}
