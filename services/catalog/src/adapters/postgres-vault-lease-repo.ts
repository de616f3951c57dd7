import { wrapDbError, type Pool } from '@latchkey/db';
import type { VaultLeaseRepo } from '../domain/ports.js';
import type { VaultLeaseAction, VaultLeaseRecord, VaultLeaseState } from '../domain/vault/vault-lease-types.js';

interface LeaseRow {
  lease_id: string;
  integration_id: string;
  domain: string;
  deployment_id: string;
  issued_at: Date;
  expires_at: Date;
  lease_seconds: number;
  renewable: boolean;
  state: VaultLeaseState;
  failures: number;
}

const COLUMNS =
  'lease_id, integration_id, domain, deployment_id, issued_at, expires_at, lease_seconds, renewable, state, failures';

const toRecord = (r: LeaseRow): VaultLeaseRecord => ({
  leaseId: r.lease_id,
  integrationId: r.integration_id,
  domain: r.domain,
  deploymentId: r.deployment_id,
  issuedAt: r.issued_at,
  expiresAt: r.expires_at,
  leaseSeconds: r.lease_seconds,
  renewable: r.renewable,
  state: r.state,
  failures: r.failures,
});

/**
 * Due leases, claimed in one statement: the inner SELECT locks the rows it
 * takes and skips those another replica holds, the UPDATE moves them past
 * the claim so that no later round takes them while this one acts.
 */
const CLAIM_DUE = `
  UPDATE vault_leases l SET due_at = $2
  FROM (
    SELECT lease_id FROM vault_leases
    WHERE state IN ('active', 'revoking') AND due_at <= $1
    ORDER BY due_at
    LIMIT $3
    FOR UPDATE SKIP LOCKED
  ) due
  WHERE l.lease_id = due.lease_id
  RETURNING ${COLUMNS.split(', ')
    .map((c) => `l.${c}`)
    .join(', ')}`;

/** vault_leases in PostgreSQL. */
export class PostgresVaultLeaseRepo implements VaultLeaseRepo {
  constructor(private readonly pool: Pool) {}

  async record(l: Omit<VaultLeaseRecord, 'state' | 'failures'>): Promise<void> {
    try {
      await this.pool.query(
        `INSERT INTO vault_leases (lease_id, integration_id, domain, deployment_id, issued_at, expires_at, lease_seconds, renewable)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [l.leaseId, l.integrationId, l.domain, l.deploymentId, l.issuedAt, l.expiresAt, l.leaseSeconds, l.renewable],
      );
    } catch (err) {
      throw wrapDbError(err, 'recording a Vault lease');
    }
  }

  async claimDue(now: Date, claimUntil: Date, limit: number): Promise<VaultLeaseRecord[]> {
    try {
      const { rows } = await this.pool.query<LeaseRow>(CLAIM_DUE, [now, claimUntil, limit]);
      return rows.map(toRecord);
    } catch (err) {
      throw wrapDbError(err, 'claiming due Vault leases');
    }
  }

  async settle(leaseId: string, a: VaultLeaseAction): Promise<void> {
    try {
      switch (a.kind) {
        case 'renewed':
          await this.pool.query(
            `UPDATE vault_leases SET expires_at = $2, renewable = $3, due_at = $4, renewed_at = now(),
               failures = 0, last_error = NULL
             WHERE lease_id = $1`,
            [leaseId, a.expiresAt, a.renewable, a.nextCheck],
          );
          return;
        case 'checked':
          await this.pool.query('UPDATE vault_leases SET due_at = $2 WHERE lease_id = $1', [leaseId, a.nextCheck]);
          return;
        case 'ended':
          await this.pool.query(
            'UPDATE vault_leases SET state = $2, ended_at = $3, last_error = NULL WHERE lease_id = $1',
            [leaseId, a.state, a.at],
          );
          return;
        case 'failed':
          await this.pool.query(
            `UPDATE vault_leases SET state = $2, due_at = $3, failures = failures + 1, last_error = $4
             WHERE lease_id = $1`,
            [leaseId, a.state, a.nextCheck, a.code],
          );
          return;
      }
    } catch (err) {
      throw wrapDbError(err, 'recording what was done with a Vault lease');
    }
  }

  async ofDeployment(deploymentId: string): Promise<VaultLeaseRecord[]> {
    try {
      const { rows } = await this.pool.query<LeaseRow>(
        `SELECT ${COLUMNS} FROM vault_leases WHERE deployment_id = $1 ORDER BY issued_at, lease_id`,
        [deploymentId],
      );
      return rows.map(toRecord);
    } catch (err) {
      throw wrapDbError(err, 'reading the Vault leases of a deployment');
    }
  }
}
