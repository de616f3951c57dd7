import { envelopeDecrypt, envelopeEncrypt } from '@latchkey/crypto';
import { wrapDbError, type Pool, type Queryable } from '@latchkey/db';
import type { ValueBackend, ValueLimit } from '../domain/value-backend.js';
import type { KekRing } from './kek-ring.js';
import { kekIdsIn, rewrapTable } from './kek-rotation.js';

/** LATCHKEY_MAX_VALUE_BYTES when it is not set. */
export const DEFAULT_DATABASE_MAX_VALUE_BYTES = 65_536;

/** The most reads one query answers. */
const READ_BATCH = 500;

interface SealedRow {
  kek_id: string;
  wrapped_dek: Buffer;
  ciphertext: Buffer;
}

interface PendingRead {
  scope: string;
  key: string;
  version: number;
  resolve: (row: SealedRow | undefined) => void;
  reject: (err: unknown) => void;
}

const context = (scope: string, key: string, version: number) => `latchkey.secret:${scope}/${key}/${version}`;

/**
 * The default managed backend: values in the catalog's own database, each
 * version with a fresh data key (AES-256-GCM), the data key wrapped by the
 * current key-encryption key.
 */
export class DatabaseValueBackend implements ValueBackend {
  readonly kind = 'database' as const;
  /** The database backend's limit is a setting: the catalog's LATCHKEY_MAX_VALUE_BYTES. */
  readonly valueLimit: ValueLimit;

  constructor(
    private readonly pool: Pool,
    private readonly keks: KekRing,
    maxValueBytes = DEFAULT_DATABASE_MAX_VALUE_BYTES,
  ) {
    this.valueLimit = { bytes: maxValueBytes, why: 'the setting LATCHKEY_MAX_VALUE_BYTES' };
  }

  async write(input: {
    scope: string;
    key: string;
    version: number;
    value: Buffer;
    txn?: unknown;
  }): Promise<{ ref: string }> {
    const kek = this.keks.current();
    const sealed = envelopeEncrypt(kek, input.value, context(input.scope, input.key, input.version));
    try {
      // An upsert: a version number left by a rolled-back put is reused by the next one.
      const db = (input.txn as Queryable | undefined) ?? this.pool;
      await db.query(
        `INSERT INTO secret_values (scope, key, version, kek_id, wrapped_dek, ciphertext) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (scope, key, version) DO UPDATE SET kek_id = EXCLUDED.kek_id, wrapped_dek = EXCLUDED.wrapped_dek,
           ciphertext = EXCLUDED.ciphertext, created_at = now()`,
        [input.scope, input.key, input.version, sealed.kekId, sealed.wrappedDek, sealed.ciphertext],
      );
    } catch (err) {
      throw wrapDbError(err, 'storing an encrypted value');
    }
    return { ref: String(input.version) };
  }

  /**
   * Reads one version. Reads asked for in the same tick (a deployment's
   * references, and those of deployments resolved at the same moment) are
   * answered by one query; each is decrypted on its own, so one that cannot
   * be decrypted fails alone, and a database failure fails them all.
   */
  async read(input: { scope: string; key: string; version: number }): Promise<Buffer | undefined> {
    const row = await new Promise<SealedRow | undefined>((resolve, reject) => {
      if (this.#pending.length === 0) queueMicrotask(() => void this.#fetchPending());
      this.#pending.push({ ...input, resolve, reject });
    });
    if (!row) return undefined;
    const record = { kekId: row.kek_id, wrappedDek: row.wrapped_dek, ciphertext: row.ciphertext };
    // Another replica may have rotated the KEK: reload the ring once.
    if (!this.keks.has(record.kekId)) await this.keks.reload();
    return envelopeDecrypt(this.keks.all(), record, context(input.scope, input.key, input.version));
  }

  #pending: PendingRead[] = [];

  async #fetchPending(): Promise<void> {
    const batch = this.#pending;
    this.#pending = [];
    for (let i = 0; i < batch.length; i += READ_BATCH) await this.#fetch(batch.slice(i, i + READ_BATCH));
  }

  async #fetch(batch: PendingRead[]): Promise<void> {
    const id = (r: { scope: string; key: string; version: number }) => `${r.scope}\0${r.key}\0${r.version}`;
    try {
      const { rows } = await this.pool.query<SealedRow & { scope: string; key: string; version: number }>(
        `SELECT v.scope, v.key, v.version, v.kek_id, v.wrapped_dek, v.ciphertext
           FROM secret_values v
           JOIN unnest($1::text[], $2::text[], $3::integer[]) AS w (scope, key, version) USING (scope, key, version)`,
        [batch.map((r) => r.scope), batch.map((r) => r.key), batch.map((r) => r.version)],
      );
      const found = new Map(rows.map((r) => [id(r), r]));
      for (const r of batch) r.resolve(found.get(id(r)));
    } catch (err) {
      const failure = wrapDbError(err, 'reading encrypted values');
      for (const r of batch) r.reject(failure);
    }
  }

  async remove(input: { scope: string; key: string }): Promise<void> {
    try {
      await this.pool.query('DELETE FROM secret_values WHERE scope = $1 AND key = $2', [input.scope, input.key]);
    } catch (err) {
      throw wrapDbError(err, 'removing encrypted values');
    }
  }

  async destroyVersions(input: {
    scope: string;
    key: string;
    versions: { version: number; ref: string }[];
  }): Promise<void> {
    if (input.versions.length === 0) return;
    try {
      await this.pool.query(
        'DELETE FROM secret_values WHERE scope = $1 AND key = $2 AND version = ANY ($3::integer[])',
        [input.scope, input.key, input.versions.map((v) => v.version)],
      );
    } catch (err) {
      throw wrapDbError(err, 'destroying encrypted values');
    }
  }

  /**
   * Re-wraps every data key with the ring's current KEK, in batches, online:
   * values' ciphertext is untouched. Returns how many were re-wrapped.
   */
  rewrapAll(): Promise<number> {
    return rewrapTable(this.pool, this.keks, {
      table: 'secret_values',
      key: ['scope', 'key', 'version'],
      what: 'data keys',
    });
  }

  /** KEK ids still wrapping some data key. */
  kekIdsInUse(): Promise<string[]> {
    return kekIdsIn(this.pool, 'secret_values');
  }
}
