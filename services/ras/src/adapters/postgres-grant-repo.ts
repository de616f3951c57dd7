import { withTransaction, wrapDbError, type Pool } from '@latchkey/db';
import { auditEvent, enqueueEvents } from '@latchkey/events';
import { changeRecord } from '../domain/audit-records.js';
import { granteeLabel, type Actor, type DomainGrantRecord, type Grantee } from '../domain/grant-types.js';
import type { Role } from '../domain/permission-model.js';
import type { GrantRepo } from '../domain/ports.js';
import { granteeIs, granteeOf, type GranteeColumns } from './postgres-grantee-sql.js';
import { changeOneRow, policyChanged, readOneRow } from './postgres-one-row.js';
import { DOMAIN_GRANT_COLUMNS } from './postgres-columns.js';

interface Row extends GranteeColumns {
  domain: string;
  role: string;
  granted_at: Date;
  granted_by: string;
}

/** The table's CHECK constraint keeps role to the three roles. */
const toRecord = (r: Row): DomainGrantRecord => ({
  domain: r.domain,
  grantee: granteeOf(r),
  role: r.role as Role,
  grantedAt: r.granted_at,
  grantedBy: r.granted_by,
});

export class PostgresGrantRepo implements GrantRepo {
  constructor(
    private readonly pool: Pool,
    private readonly onCommit: () => void,
  ) {}

  async rolesOf(domain: string, principal: string, groups: readonly string[]): Promise<Role[]> {
    try {
      const { rows } = await this.pool.query<{ role: string }>(
        `SELECT DISTINCT role FROM domain_grants WHERE domain = $3 AND ${granteeIs(1, 2)}`,
        [principal, [...groups], domain],
      );
      return rows.map((r) => r.role as Role);
    } catch (err) {
      throw wrapDbError(err, 'reading domain roles');
    }
  }

  get(domain: string, grantee: Grantee): Promise<DomainGrantRecord | undefined> {
    const sql = `SELECT ${DOMAIN_GRANT_COLUMNS} FROM domain_grants WHERE domain = $1 AND grantee_kind = $2 AND grantee_id = $3`;
    return readOneRow(this.pool, sql, [domain, grantee.kind, grantee.id], toRecord, 'reading a domain grant');
  }

  async put(
    domain: string,
    grantee: Grantee,
    role: Role,
    by: Actor,
  ): Promise<{ grant: DomainGrantRecord; changed: boolean; previous: Role | undefined }> {
    try {
      const result = await withTransaction(this.pool, async (tx) => {
        const { rows: held } = await tx.query<Row>(
          `SELECT ${DOMAIN_GRANT_COLUMNS} FROM domain_grants WHERE domain = $1 AND grantee_kind = $2 AND grantee_id = $3 FOR UPDATE`,
          [domain, grantee.kind, grantee.id],
        );
        const before = held[0] ? toRecord(held[0]) : undefined;
        if (before?.role === role) return { grant: before, changed: false, previous: undefined };
        const { rows } = await tx.query<Row>(
          `INSERT INTO domain_grants (domain, grantee_kind, grantee_id, role, granted_by) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (domain, grantee_kind, grantee_id)
           DO UPDATE SET role = EXCLUDED.role, granted_at = now(), granted_by = EXCLUDED.granted_by
           RETURNING ${DOMAIN_GRANT_COLUMNS}`,
          [domain, grantee.kind, grantee.id, role, by.id],
        );
        const row = rows[0];
        if (!row) throw new Error('INSERT ... RETURNING returned no row');
        const previous = before?.role;
        await enqueueEvents(tx, [
          policyChanged({
            change: 'domain.granted',
            domain,
            grantee,
            role,
            ...(previous === undefined ? {} : { previousRole: previous }),
            by: by.id,
          }),
          auditEvent(
            changeRecord(
              by,
              'domain.grant',
              domain,
              granteeLabel(grantee),
              `role ${role}${previous === undefined ? '' : ` (was ${previous})`}`,
            ),
          ),
        ]);
        return { grant: toRecord(row), changed: true, previous };
      });
      if (result.changed) this.onCommit();
      return result;
    } catch (err) {
      throw wrapDbError(err, 'granting a domain role');
    }
  }

  async remove(
    domain: string,
    grantee: Grantee,
    role: Role | undefined,
    by: Actor,
  ): Promise<DomainGrantRecord | undefined> {
    try {
      const row = await changeOneRow<Row>(
        this.pool,
        `DELETE FROM domain_grants
         WHERE domain = $1 AND grantee_kind = $2 AND grantee_id = $3 AND ($4::text IS NULL OR role = $4)
         RETURNING ${DOMAIN_GRANT_COLUMNS}`,
        [domain, grantee.kind, grantee.id, role ?? null],
        (removed) => {
          const held = toRecord(removed).role;
          return [
            policyChanged({ change: 'domain.revoked', domain, grantee, role: held, by: by.id }),
            auditEvent(changeRecord(by, 'domain.revoke', domain, granteeLabel(grantee), `role ${held}`)),
          ];
        },
      );
      if (!row) return undefined;
      this.onCommit();
      return toRecord(row);
    } catch (err) {
      throw wrapDbError(err, 'revoking a domain role');
    }
  }

  async list(domain: string): Promise<DomainGrantRecord[]> {
    try {
      const { rows } = await this.pool.query<Row>(
        `SELECT ${DOMAIN_GRANT_COLUMNS} FROM domain_grants WHERE domain = $1
         ORDER BY CASE role WHEN 'owner' THEN 0 WHEN 'maintainer' THEN 1 ELSE 2 END, grantee_kind DESC, grantee_id`,
        [domain],
      );
      return rows.map(toRecord);
    } catch (err) {
      throw wrapDbError(err, 'listing domain members');
    }
  }
}
