import { envelopeDecrypt, envelopeEncrypt } from '@latchkey/crypto';
import { withTransaction, wrapDbError, type Pool } from '@latchkey/db';
import {
  auditEvent,
  auditRecord,
  enqueueEvents,
  eventTypes,
  INTEGRATION_ID,
  subjects,
  type SecretChanged,
} from '@latchkey/events';
import type { VaultIntegrationRepo } from '../domain/ports.js';
import type {
  VaultAuthMethod,
  VaultIntegrationRecord,
  VaultLayoutName,
} from '../domain/vault/vault-integration-types.js';
import type { KekRing } from './kek-ring.js';
import { kekIdsIn, rewrapTable } from './kek-rotation.js';

/** The columns named as in VaultIntegrationRecord, then the snake_case ones. */
type Row = Pick<VaultIntegrationRecord, 'id' | 'domain' | 'name' | 'host' | 'path' | 'namespace' | 'bundle'> & {
  auth_method: string;
  role_id: string;
  layout: string;
  created_at: Date;
  created_by: string;
  updated_at: Date;
  updated_by: string;
};

const COLUMNS =
  'id, domain, name, host, path, namespace, bundle, auth_method, role_id, layout, created_at, created_by, updated_at, updated_by';

const toRecord = (r: Row): VaultIntegrationRecord => ({
  id: r.id,
  domain: r.domain,
  name: r.name,
  host: r.host,
  path: r.path,
  namespace: r.namespace,
  bundle: r.bundle,
  authMethod: r.auth_method as VaultAuthMethod,
  roleId: r.role_id,
  layout: r.layout as VaultLayoutName,
  createdAt: r.created_at,
  createdBy: r.created_by,
  updatedAt: r.updated_at,
  updatedBy: r.updated_by,
});

/** The AEAD context binds a credential to its integration: a ciphertext cannot be moved to another row. */
const context = (id: string) => `latchkey.vault-credential:${id}`;

const isUniqueViolation = (err: unknown) => (err as { code?: unknown } | null)?.code === '23505';

function changedEvent(integration: { id: string; domain: string }, data: Omit<SecretChanged, 'scope' | 'source'>) {
  const ev: SecretChanged = { scope: integration.id, domain: integration.domain, source: 'VAULT', ...data };
  return {
    id: `secret.${data.change}:vault:${integration.id}/${data.key}/${data.version}`,
    type: eventTypes.secretChanged,
    subject: subjects.secretChanged(integration.domain),
    data: ev,
  };
}

/** The audit record of a committed change to an integration: never its credential. */
function changeAudit(
  action: 'vault.create' | 'vault.update' | 'vault.delete',
  integration: { id: string; domain: string; name: string },
  by: string,
  reason: string,
  requestId: string | undefined,
) {
  return auditEvent(
    auditRecord({
      service: 'catalog',
      actor: by,
      action,
      domain: integration.domain,
      resource: `vault:${integration.name}`,
      outcome: 'ok',
      reason: `integration ${integration.id}${reason === '' ? '' : `, ${reason}`}`,
      requestId: requestId ?? '',
    }),
  );
}

/** Vault integrations in the catalog's database; the credential only envelope-encrypted with the KEK. */
export class PostgresVaultIntegrationRepo implements VaultIntegrationRepo {
  constructor(
    private readonly pool: Pool,
    private readonly keks: KekRing,
  ) {}

  async create(input: Parameters<VaultIntegrationRepo['create']>[0]): Promise<VaultIntegrationRecord | undefined> {
    const s = input.settings;
    const sealed = envelopeEncrypt(this.keks.current(), s.credential, context(input.id));
    try {
      return await withTransaction(this.pool, async (tx) => {
        const { rows } = await tx.query<Row>(
          `INSERT INTO vault_integrations (id, domain, name, host, path, namespace, bundle, auth_method, role_id, layout,
           kek_id, wrapped_dek, credential, created_by, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)
         ON CONFLICT (domain, name) DO NOTHING
         RETURNING ${COLUMNS}`,
          [
            input.id,
            input.domain,
            input.name,
            s.host,
            s.path,
            s.namespace,
            input.bundle,
            s.authMethod,
            s.roleId,
            s.layout,
            sealed.kekId,
            sealed.wrappedDek,
            sealed.ciphertext,
            input.by,
          ],
        );
        const row = rows[0];
        if (!row) return undefined;
        await enqueueEvents(tx, [
          changeAudit('vault.create', row, input.by, `bundle ${input.bundle}, ${s.authMethod} auth`, input.requestId),
        ]);
        return toRecord(row);
      });
    } catch (err) {
      throw wrapDbError(err, 'storing a Vault integration');
    }
  }

  async find(domain: string, nameOrId: string): Promise<VaultIntegrationRecord | undefined> {
    try {
      const { rows } = await this.pool.query<Row>(
        `SELECT ${COLUMNS} FROM vault_integrations WHERE domain = $1 AND (name = $2 OR ($3::uuid IS NOT NULL AND id = $3::uuid))`,
        [domain, nameOrId, INTEGRATION_ID.test(nameOrId) ? nameOrId : null],
      );
      return rows[0] ? toRecord(rows[0]) : undefined;
    } catch (err) {
      throw wrapDbError(err, 'reading a Vault integration');
    }
  }

  async list(domain: string): Promise<VaultIntegrationRecord[]> {
    try {
      const { rows } = await this.pool.query<Row>(
        `SELECT ${COLUMNS} FROM vault_integrations WHERE domain = $1 ORDER BY name`,
        [domain],
      );
      return rows.map(toRecord);
    } catch (err) {
      throw wrapDbError(err, 'listing Vault integrations');
    }
  }

  /** Integrations by id, in any domain (for the version watch). */
  async byIds(ids: string[]): Promise<VaultIntegrationRecord[]> {
    const valid = ids.filter((id) => INTEGRATION_ID.test(id));
    if (valid.length === 0) return [];
    try {
      const { rows } = await this.pool.query<Row>(
        `SELECT ${COLUMNS} FROM vault_integrations WHERE id = ANY($1::uuid[])`,
        [valid],
      );
      return rows.map(toRecord);
    } catch (err) {
      throw wrapDbError(err, 'reading Vault integrations');
    }
  }

  async update(
    id: string,
    changes: Parameters<VaultIntegrationRepo['update']>[1],
    credential: Buffer | undefined,
    by: string,
    requestId?: string,
  ): Promise<VaultIntegrationRecord | 'name_taken' | 'credential_needed' | undefined> {
    const sealed = credential === undefined ? undefined : envelopeEncrypt(this.keks.current(), credential, context(id));
    try {
      return await withTransaction(this.pool, async (tx) => {
        const { rows } = await tx.query<Row>(
          `UPDATE vault_integrations SET name = $2, host = $3, path = $4, namespace = $5, auth_method = $6, role_id = $7,
           layout = $8, updated_at = clock_timestamp(), updated_by = $9,
           kek_id = COALESCE($10, kek_id), wrapped_dek = COALESCE($11, wrapped_dek), credential = COALESCE($12, credential)
         WHERE id = $1
           -- The stored credential stays only with the host and auth method it was given for, whatever
           -- this update read before: a concurrent change of either needs the credential again.
           AND ($12::bytea IS NOT NULL OR (host = $3 AND auth_method = $6))
         RETURNING ${COLUMNS}`,
          [
            id,
            changes.name,
            changes.host,
            changes.path,
            changes.namespace,
            changes.authMethod,
            changes.roleId,
            changes.layout,
            by,
            sealed?.kekId ?? null,
            sealed?.wrappedDek ?? null,
            sealed?.ciphertext ?? null,
          ],
        );
        const row = rows[0];
        if (!row) {
          const exists = await tx.query('SELECT 1 FROM vault_integrations WHERE id = $1', [id]);
          return exists.rowCount ? ('credential_needed' as const) : undefined;
        }
        await enqueueEvents(tx, [
          changeAudit('vault.update', row, by, sealed === undefined ? '' : 'credential replaced', requestId),
        ]);
        return toRecord(row);
      });
    } catch (err) {
      if (isUniqueViolation(err)) return 'name_taken';
      throw wrapDbError(err, 'updating a Vault integration');
    }
  }

  async delete(
    id: string,
    by: string,
    deployedKeys: { key: string; version: number }[],
    requestId?: string,
  ): Promise<boolean> {
    try {
      return await withTransaction(this.pool, async (tx) => {
        const { rows } = await tx.query<{ domain: string; name: string }>(
          'DELETE FROM vault_integrations WHERE id = $1 RETURNING domain, name',
          [id],
        );
        const row = rows[0];
        if (!row) return false;
        await enqueueEvents(tx, [
          ...deployedKeys.map((k) =>
            changedEvent({ id, domain: row.domain }, { key: k.key, version: k.version, change: 'deleted', by }),
          ),
          changeAudit('vault.delete', { id, ...row }, by, '', requestId),
        ]);
        return true;
      });
    } catch (err) {
      throw wrapDbError(err, 'deleting a Vault integration');
    }
  }

  async credential(id: string): Promise<Buffer | undefined> {
    let row: { kek_id: string; wrapped_dek: Buffer; credential: Buffer } | undefined;
    try {
      const { rows } = await this.pool.query<{ kek_id: string; wrapped_dek: Buffer; credential: Buffer }>(
        'SELECT kek_id, wrapped_dek, credential FROM vault_integrations WHERE id = $1',
        [id],
      );
      row = rows[0];
    } catch (err) {
      throw wrapDbError(err, 'reading a Vault integration credential');
    }
    if (!row) return undefined;
    if (!this.keks.has(row.kek_id)) await this.keks.reload();
    return envelopeDecrypt(
      this.keks.all(),
      { kekId: row.kek_id, wrappedDek: row.wrapped_dek, ciphertext: row.credential },
      context(id),
    );
  }

  async recordVersions(
    integration: VaultIntegrationRecord,
    seen: { key: string; version: number; deployedVersion: number }[],
  ): Promise<number> {
    if (seen.length === 0) return 0;
    try {
      return await withTransaction(this.pool, async (tx) => {
        // Only a row that moves forward comes back, so of several replicas
        // polling at once exactly one announces a given version.
        const { rows } = await tx.query<{ key: string; version: number }>(
          `INSERT INTO vault_watch AS w (integration_id, key, version)
           SELECT $1, * FROM unnest($2::text[], $3::int[])
           ON CONFLICT (integration_id, key) DO UPDATE SET version = EXCLUDED.version, checked_at = now()
             WHERE w.version < EXCLUDED.version
           RETURNING w.key, w.version`,
          [integration.id, seen.map((s) => s.key), seen.map((s) => s.version)],
        );
        const deployed = new Map(seen.map((s) => [s.key, s.deployedVersion]));
        const moved = rows.filter((r) => r.version > (deployed.get(r.key) ?? 0));
        await enqueueEvents(
          tx,
          moved.map((r) =>
            changedEvent(integration, { key: r.key, version: r.version, change: 'updated', by: 'vault-watch' }),
          ),
        );
        return moved.length;
      });
    } catch (err) {
      throw wrapDbError(err, 'recording Vault versions');
    }
  }

  /** Re-wraps every credential's data key with the ring's current KEK (KEK rotation). */
  rewrapAll(): Promise<number> {
    return rewrapTable(this.pool, this.keks, { table: 'vault_integrations', key: ['id'], what: 'Vault credentials' });
  }

  kekIdsInUse(): Promise<string[]> {
    return kekIdsIn(this.pool, 'vault_integrations');
  }
}
