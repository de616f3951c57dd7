import { withTransaction, wrapDbError, type Pool } from '@latchkey/db';
import { auditEvent, enqueueEvents } from '@latchkey/events';
import { changeRecord } from '../domain/audit-records.js';
import { granteeLabel, type Actor, type BundleGrantRecord, type Grantee } from '../domain/grant-types.js';
import { BUNDLE_PERMISSIONS, type BundlePermission } from '../domain/permission-model.js';
import type { BundleRecord, BundleRepo } from '../domain/ports.js';
import { granteeIs, granteeOf, type GranteeColumns } from './postgres-grantee-sql.js';
import { createOneRow, policyChanged, readOneRow } from './postgres-one-row.js';
import { BUNDLE_COLUMNS, BUNDLE_GRANT_COLUMNS } from './postgres-columns.js';

interface Row {
  domain: string;
  name: string;
  created_at: Date;
  created_by: string;
}
const toRecord = (r: Row): BundleRecord => ({
  domain: r.domain,
  name: r.name,
  createdAt: r.created_at,
  createdBy: r.created_by,
});

interface GrantRow extends GranteeColumns {
  domain: string;
  bundle: string;
  permission: string;
  granted_at: Date;
  granted_by: string;
}
/** The table's CHECK constraint keeps permission to VIEW, UPDATE and USE. */
const toGrant = (r: GrantRow): BundleGrantRecord => ({
  domain: r.domain,
  bundle: r.bundle,
  grantee: granteeOf(r),
  permission: r.permission as BundlePermission,
  grantedAt: r.granted_at,
  grantedBy: r.granted_by,
});

/** Rows that RETURNING gives in no particular order, in VIEW, UPDATE, USE order. */
const inPermissionOrder = (grants: BundleGrantRecord[]): BundleGrantRecord[] =>
  grants.sort((a, b) => BUNDLE_PERMISSIONS.indexOf(a.permission) - BUNDLE_PERMISSIONS.indexOf(b.permission));

const ORDER = `ORDER BY grantee_kind DESC, grantee_id, CASE permission WHEN 'VIEW' THEN 0 WHEN 'UPDATE' THEN 1 ELSE 2 END`;

export class PostgresBundleRepo implements BundleRepo {
  constructor(
    private readonly pool: Pool,
    private readonly onCommit: () => void,
  ) {}

  create(domain: string, name: string, by: Actor): Promise<BundleRecord | undefined> {
    return createOneRow(
      this.pool,
      `INSERT INTO bundles (domain, name, created_by) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING ${BUNDLE_COLUMNS}`,
      [domain, name, by.id],
      () => [
        policyChanged({ change: 'bundle.created', domain, bundle: name, by: by.id }),
        auditEvent(changeRecord(by, 'bundle.create', domain, `bundle:${name}`)),
      ],
      toRecord,
      () => this.onCommit(),
      'creating a bundle',
    );
  }

  get(domain: string, name: string): Promise<BundleRecord | undefined> {
    const sql = `SELECT ${BUNDLE_COLUMNS} FROM bundles WHERE domain = $1 AND name = $2`;
    return readOneRow(this.pool, sql, [domain, name], toRecord, 'reading a bundle');
  }

  async list(domain: string): Promise<BundleRecord[]> {
    try {
      const { rows } = await this.pool.query<Row>(
        `SELECT ${BUNDLE_COLUMNS} FROM bundles WHERE domain = $1 ORDER BY name`,
        [domain],
      );
      return rows.map(toRecord);
    } catch (err) {
      throw wrapDbError(err, 'listing bundles');
    }
  }

  async access(
    domain: string,
    bundle: string,
    principal: string,
    groups: readonly string[],
  ): Promise<{ exists: boolean; permissions: BundlePermission[] }> {
    try {
      const { rows } = await this.pool.query<{ exists: boolean; permissions: string[] }>(
        `SELECT EXISTS (SELECT 1 FROM bundles WHERE domain = $3 AND name = $4) AS exists,
                ARRAY(SELECT DISTINCT permission FROM bundle_grants
                      WHERE domain = $3 AND bundle = $4 AND ${granteeIs(1, 2)}) AS permissions`,
        [principal, [...groups], domain, bundle],
      );
      const row = rows[0];
      return { exists: row?.exists === true, permissions: (row?.permissions ?? []) as BundlePermission[] };
    } catch (err) {
      throw wrapDbError(err, 'reading bundle grants');
    }
  }

  async grants(domain: string, bundle: string): Promise<BundleGrantRecord[]> {
    try {
      const { rows } = await this.pool.query<GrantRow>(
        `SELECT ${BUNDLE_GRANT_COLUMNS} FROM bundle_grants WHERE domain = $1 AND bundle = $2 ${ORDER}`,
        [domain, bundle],
      );
      return rows.map(toGrant);
    } catch (err) {
      throw wrapDbError(err, 'listing bundle grants');
    }
  }

  addGrants: BundleRepo['addGrants'] = (domain, bundle, grantee, permissions, by) =>
    this.#changeGrants(
      'bundle.grant',
      `INSERT INTO bundle_grants (domain, bundle, grantee_kind, grantee_id, permission, granted_by)
       SELECT $1, $2, $3, $4, p, $6 FROM unnest($5::text[]) AS p
       ON CONFLICT DO NOTHING RETURNING ${BUNDLE_GRANT_COLUMNS}`,
      [domain, bundle, grantee.kind, grantee.id, [...permissions], by.id],
      { domain, bundle, grantee, by },
    );

  removeGrants: BundleRepo['removeGrants'] = (domain, bundle, grantee, permissions, by) =>
    this.#changeGrants(
      'bundle.revoke',
      `DELETE FROM bundle_grants
       WHERE domain = $1 AND bundle = $2 AND grantee_kind = $3 AND grantee_id = $4
         AND ($5::text[] IS NULL OR permission = ANY($5::text[]))
       RETURNING ${BUNDLE_GRANT_COLUMNS}`,
      [domain, bundle, grantee.kind, grantee.id, permissions === undefined ? null : [...permissions]],
      { domain, bundle, grantee, by },
    );

  /**
   * Runs `sql` (which returns the grant rows it added or removed) and, in the
   * same transaction, the policy.changed event and the audit record of what
   * changed; nothing is recorded when nothing changed.
   */
  async #changeGrants(
    action: 'bundle.grant' | 'bundle.revoke',
    sql: string,
    params: unknown[],
    on: { domain: string; bundle: string; grantee: Grantee; by: Actor },
  ): Promise<BundleGrantRecord[]> {
    const { domain, bundle, grantee, by } = on;
    try {
      const changed = await withTransaction(this.pool, async (tx) => {
        const { rows } = await tx.query<GrantRow>(sql, params);
        const grants = inPermissionOrder(rows.map(toGrant));
        if (grants.length > 0) {
          const permissions = grants.map((g) => g.permission);
          const change = action === 'bundle.grant' ? 'bundle.granted' : 'bundle.revoked';
          await enqueueEvents(tx, [
            policyChanged({ change, domain, bundle, grantee, permissions, by: by.id }),
            auditEvent(
              changeRecord(
                by,
                action,
                domain,
                `bundle:${bundle}`,
                `${granteeLabel(grantee)}: ${permissions.join(', ')}`,
              ),
            ),
          ]);
        }
        return grants;
      });
      if (changed.length > 0) this.onCommit();
      return changed;
    } catch (err) {
      throw wrapDbError(err, action === 'bundle.grant' ? 'granting on a bundle' : 'revoking on a bundle');
    }
  }
}
