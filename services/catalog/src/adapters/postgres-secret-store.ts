import { withTransaction, wrapDbError, type Pool } from '@latchkey/db';
import {
  auditEvent,
  auditRecord,
  enqueueEvents,
  eventTypes,
  subjects,
  type AuditRecord,
  type SecretRotationDue,
} from '@latchkey/events';
import { storeKey, type SecretStore, type StoredValue } from '../domain/ports.js';
import { PostgresSecretLifecycle } from './postgres-secret-lifecycle.js';
import {
  changeAudit,
  changedEvent,
  lockKey,
  META_COLUMNS,
  SECRET_COLUMNS,
  queueBeyondKept,
  toMeta,
  type MetaRow,
} from './postgres-secret-rows.js';
import { formatRotateEvery } from '../domain/rotation/rotation-policy.js';
import { scopeFlag, secretDeleted } from '../domain/secrets/secret-errors.js';
import type { PutResult, RotationDue, ScopeName, SecretMeta } from '../domain/secrets/secret-types.js';

/** How many due versions one sweep transaction records and announces. */
const DUE_BATCH = 500;

function rotationDueEvent(due: RotationDue) {
  const data: SecretRotationDue = {
    scope: due.scope,
    domain: due.scope,
    key: due.key,
    source: 'MANAGED',
    version: due.version,
    rotateEvery: formatRotateEvery(due.rotateEverySeconds),
    versionCreatedAt: due.versionCreatedAt.toISOString(),
    dueSince: due.dueSince.toISOString(),
  };
  return {
    id: `secret.rotation_due:${due.scope}/${due.key}/${due.version}`,
    type: eventTypes.secretRotationDue,
    subject: subjects.secretRotationDue(due.scope),
    data,
  };
}

/** The database backend: envelope-encrypted versions beside their metadata. */
export class PostgresSecretStore implements SecretStore {
  readonly #keep: number;

  /** `keepVersions`: versions kept per secret (default 10); a put queues older ones for destruction. */
  readonly #life: PostgresSecretLifecycle;

  constructor(
    private readonly pool: Pool,
    opts: { keepVersions?: number } = {},
  ) {
    this.#keep = opts.keepVersions ?? 10;
    this.#life = new PostgresSecretLifecycle(pool);
  }

  // Deletes, restores, versions and destruction: postgres-secret-lifecycle.ts.
  delete: SecretStore['delete'] = (i) => this.#life.delete(i);
  restore: SecretStore['restore'] = (i) => this.#life.restore(i);
  listDeleted: SecretStore['listDeleted'] = (scope) => this.#life.listDeleted(scope);
  versions: SecretStore['versions'] = (scope, key) => this.#life.versions(scope, key);
  setVersionDisabled: SecretStore['setVersionDisabled'] = (i) => this.#life.setVersionDisabled(i);
  queueDestructions: SecretStore['queueDestructions'] = (now, keep) => this.#life.queueDestructions(now, keep);
  pendingDestructions: SecretStore['pendingDestructions'] = (limit, only) =>
    this.#life.pendingDestructions(limit, only);
  destructionsDone: SecretStore['destructionsDone'] = (items) => this.#life.destructionsDone(items);
  destructionsFailed: SecretStore['destructionsFailed'] = (items) => this.#life.destructionsFailed(items);

  async recordReads(records: AuditRecord[]): Promise<void> {
    try {
      await enqueueEvents(this.pool, records.map(auditEvent));
    } catch (err) {
      throw wrapDbError(err, 'writing the audit record of a value read');
    }
  }

  async put(input: Parameters<SecretStore['put']>[0]): Promise<PutResult> {
    try {
      return await withTransaction(this.pool, async (tx) => {
        // Changes of one key queue here, so that the statement below starts
        // (and takes its snapshot) after the previous change committed: else
        // `prior` misses a row a concurrent put just created and calls an
        // update 'created'.
        await lockKey(tx, input.scope, input.key);
        // A deleted secret in its recovery window is restored or destroyed first, never written over.
        const pending = await tx.query<{ recover_until: Date }>(
          'SELECT recover_until FROM secrets WHERE scope = $1 AND key = $2 AND recover_until IS NOT NULL',
          [input.scope, input.key],
        );
        if (pending.rows[0]) {
          throw secretDeleted(
            input.key,
            input.scope,
            pending.rows[0].recover_until,
            `restore it, or destroy it now (latchkey secret delete ${input.key} ${scopeFlag(input.scope)} --recovery-days 0) and put it again`,
          );
        }
        // One statement takes the row lock and the next version number, so
        // concurrent puts of one key serialise and never share a version.
        // The rotation policy: $5 says whether this put sets it ($6, null
        // to remove it); otherwise a present secret keeps its own and one
        // created anew (also after a delete) has none.
        const { rows } = await tx.query<MetaRow & { was_deleted: boolean | null }>(
          `WITH prior AS (SELECT deleted_at IS NOT NULL AS was_deleted FROM secrets WHERE scope = $1 AND key = $2)
           INSERT INTO secrets AS s (scope, key, current_version, description, updated_by, rotate_every_seconds)
           VALUES ($1, $2, 1, COALESCE($3, ''), $4, CASE WHEN $5::boolean THEN $6::integer END)
           ON CONFLICT (scope, key) DO UPDATE SET
             current_version = s.current_version + 1,
             description = COALESCE($3, s.description),
             updated_at = now(),
             updated_by = $4,
             deleted_at = NULL,
             rotate_every_seconds = CASE
               WHEN $5::boolean THEN $6::integer
               WHEN s.deleted_at IS NOT NULL THEN NULL
               ELSE s.rotate_every_seconds END
           RETURNING ${SECRET_COLUMNS}, now() AS version_created_at, (SELECT was_deleted FROM prior) AS was_deleted`,
          [
            input.scope,
            input.key,
            input.description ?? null,
            input.by,
            input.rotateEverySeconds !== undefined,
            input.rotateEverySeconds ?? null,
          ],
        );
        const row = rows[0]!;
        const meta = toMeta(row);
        // A new version is current: what was announced of the older ones is no longer needed.
        await tx.query('DELETE FROM rotation_due WHERE scope = $1 AND key = $2 AND version < $3', [
          input.scope,
          input.key,
          meta.version,
        ]);
        const stored = await input.writeValue(meta.version, tx);
        await tx.query(
          `INSERT INTO secret_versions (scope, key, version, backend, backend_ref, created_by, rolled_back_from)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (scope, key, version) DO UPDATE SET backend = EXCLUDED.backend, backend_ref = EXCLUDED.backend_ref,
             created_by = EXCLUDED.created_by, rolled_back_from = EXCLUDED.rolled_back_from,
             disabled_at = NULL, disabled_by = NULL`,
          [meta.scope, meta.key, meta.version, stored.backend, stored.ref, input.by, input.rolledBackFrom ?? null],
        );
        const pruned = await queueBeyondKept(tx, this.#keep, { scope: meta.scope, key: meta.key });
        const change = row.was_deleted === false ? 'updated' : 'created';
        const how =
          input.rolledBackFrom === undefined
            ? undefined
            : {
                action: 'secret.rollback',
                reason: `version ${meta.version} ${change} with the value of version ${input.rolledBackFrom}`,
              };
        await enqueueEvents(tx, [changedEvent(meta, change), changeAudit(meta, change, input.requestId, how)]);
        return { meta, change, pruned };
      });
    } catch (err) {
      throw wrapDbError(err, 'storing a secret');
    }
  }

  async list(scope: ScopeName): Promise<SecretMeta[]> {
    try {
      const { rows } = await this.pool.query<MetaRow>(
        `SELECT ${META_COLUMNS} FROM secrets s WHERE s.scope = $1 AND s.deleted_at IS NULL ORDER BY s.key`,
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

  async setRotationPolicy(input: Parameters<SecretStore['setRotationPolicy']>[0]): Promise<SecretMeta | undefined> {
    try {
      return await withTransaction(this.pool, async (tx) => {
        await lockKey(tx, input.scope, input.key);
        // The value did not change: updated_at / updated_by keep saying when
        // and by whom it last did; the audit record says who set the policy.
        const { rows } = await tx.query<MetaRow & { policy_changed: boolean }>(
          `WITH before AS (SELECT rotate_every_seconds AS was FROM secrets WHERE scope = $1 AND key = $2)
           UPDATE secrets s SET rotate_every_seconds = $3
           WHERE s.scope = $1 AND s.key = $2 AND s.deleted_at IS NULL
           RETURNING ${META_COLUMNS}, (SELECT was FROM before) IS DISTINCT FROM $3::integer AS policy_changed`,
          [input.scope, input.key, input.rotateEverySeconds],
        );
        const row = rows[0];
        if (!row) return undefined;
        // A changed policy judges the current version afresh: it is announced again when due under it.
        if (row.policy_changed) {
          await tx.query('DELETE FROM rotation_due WHERE scope = $1 AND key = $2', [input.scope, input.key]);
        }
        const meta = toMeta(row);
        await enqueueEvents(tx, [
          auditEvent(
            auditRecord({
              service: 'catalog',
              actor: input.by,
              action: 'secret.policy',
              domain: meta.scope,
              resource: `secret:${meta.key}`,
              outcome: 'ok',
              reason:
                input.rotateEverySeconds === null
                  ? 'rotation policy removed'
                  : `rotate every ${formatRotateEvery(input.rotateEverySeconds)}`,
              requestId: input.requestId ?? '',
            }),
          ),
        ]);
        return meta;
      });
    } catch (err) {
      throw wrapDbError(err, 'setting a rotation policy');
    }
  }

  async announceRotationDue(now: Date): Promise<RotationDue[]> {
    const announced: RotationDue[] = [];
    try {
      for (;;) {
        const batch = await withTransaction(this.pool, async (tx) => {
          // The rows are locked (a put of the same key waits, and one in
          // progress is skipped this round), so a version is announced only
          // while it is current; the NOT EXISTS and the primary key of
          // rotation_due make it once per version across sweeps and replicas.
          const { rows } = await tx.query<{
            scope: string;
            key: string;
            version: number;
            rotate_every_seconds: number;
            version_created_at: Date;
            due_since: Date;
          }>(
            `WITH due AS (
               SELECT s.scope, s.key, s.current_version AS version, s.rotate_every_seconds,
                      v.created_at AS version_created_at,
                      v.created_at + make_interval(secs => s.rotate_every_seconds) AS due_since
               FROM secrets s
               JOIN secret_versions v ON v.scope = s.scope AND v.key = s.key AND v.version = s.current_version
               WHERE s.rotate_every_seconds IS NOT NULL AND s.deleted_at IS NULL
                 AND v.created_at + make_interval(secs => s.rotate_every_seconds) <= $1
                 AND NOT EXISTS (SELECT 1 FROM rotation_due r
                                 WHERE r.scope = s.scope AND r.key = s.key AND r.version = s.current_version)
               ORDER BY s.scope, s.key
               LIMIT $2
               FOR UPDATE OF s SKIP LOCKED
             ), recorded AS (
               INSERT INTO rotation_due (scope, key, version, due_since, announced_at)
               SELECT scope, key, version, due_since, $1 FROM due
               ON CONFLICT DO NOTHING
               RETURNING scope, key, version
             )
             SELECT due.scope, due.key, due.version, due.rotate_every_seconds, due.version_created_at, due.due_since
             FROM due JOIN recorded USING (scope, key, version) ORDER BY due.scope, due.key`,
            [now, DUE_BATCH],
          );
          const due = rows.map((r): RotationDue => ({
            scope: r.scope,
            key: r.key,
            version: r.version,
            rotateEverySeconds: r.rotate_every_seconds,
            versionCreatedAt: r.version_created_at,
            dueSince: r.due_since,
          }));
          await enqueueEvents(tx, due.map(rotationDueEvent));
          return due;
        });
        announced.push(...batch);
        if (batch.length < DUE_BATCH) return announced;
      }
    } catch (err) {
      throw wrapDbError(err, 'announcing secrets due for rotation');
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
        disabled: boolean;
        recover_until: Date | null;
      }>(
        `SELECT v.scope, v.key, v.version, v.backend, v.backend_ref, v.disabled_at IS NOT NULL AS disabled,
                CASE WHEN s.deleted_at IS NOT NULL THEN s.recover_until END AS recover_until
         FROM unnest($1::text[], $2::text[]) AS q(scope, key)
         JOIN secrets s ON s.scope = q.scope AND s.key = q.key AND (s.deleted_at IS NULL OR s.recover_until IS NOT NULL)
         JOIN secret_versions v ON v.scope = s.scope AND v.key = s.key AND v.version = s.current_version`,
        [items.map((i) => i.scope), items.map((i) => i.key)],
      );
      for (const r of rows) {
        out.set(storeKey(r.scope, r.key), {
          version: r.version,
          backend: r.backend,
          ref: r.backend_ref,
          disabled: r.disabled,
          ...(r.recover_until === null ? {} : { recoverUntil: r.recover_until }),
        });
      }
      return out;
    } catch (err) {
      throw wrapDbError(err, 'reading secret values');
    }
  }
}
