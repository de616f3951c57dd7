/**
 * Vault's dynamic secrets as the Vault client uses them, over one
 * VaultConnection: credentials issued under a lease by a database secrets
 * engine (`GET <mount>/creds/<role>`), and the lease's renewal and
 * revocation (`PUT sys/leases/renew`, `PUT sys/leases/revoke`). Shapes from
 * Vault's API documentation:
 * - creds: `{lease_id, lease_duration, renewable, data: {username, password}}`;
 * - renew `{lease_id, increment}`: `{lease_id, lease_duration, renewable}`
 *   (the duration Vault granted, which max_ttl may cap); a lease Vault no
 *   longer has is 400 `lease not found` (vault.lease_not_found);
 * - revoke `{lease_id}`: 204, also for a lease Vault no longer has.
 * Vault documents PUT for both; node-vault's `write` sends POST, which Vault
 * handles alike (both are the `update` operation), and keeps the client's
 * timeout and TLS options.
 *
 * These are the only requests other than reads that a read-only client
 * sends, and only about leases Vault issued to it. Field values are returned
 * as Buffers and never appear in an error.
 */
import { isRecord, type VaultConnection } from './vault-connection.js';
import { encodePath } from './vault-kv2-path.js';

/** Credentials of a dynamic-secrets path and their lease. */
export interface VaultLeasedSecret {
  leaseId: string;
  /** Seconds the lease runs from now. */
  leaseSeconds: number;
  renewable: boolean;
  /** The credential fields (`username`, `password`), as text bytes. */
  fields: Record<string, Buffer>;
}

/** What a renewal granted. */
export interface VaultLeaseRenewal {
  leaseSeconds: number;
  renewable: boolean;
}

const LEASE_ID = /^[\x21-\x7e]{1,1024}$/;

function fieldsOf(data: Record<string, unknown>): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(data)) {
    out[k] = Buffer.from(typeof v === 'string' ? v : JSON.stringify(v), 'utf8');
  }
  return out;
}

export class VaultLeases {
  constructor(private readonly conn: VaultConnection) {}

  /** GET `<mount>/creds/<role>`: new credentials under a new lease (each call issues another). */
  async readLeased(mount: string, role: string): Promise<VaultLeasedSecret> {
    const path = `${mount}/creds/${role}`;
    const ctx = { op: 'creds' as const, path };
    const body = await this.conn.call(ctx, (c, o) => c.read(`${encodePath(mount)}/creds/${encodePath(role)}`, o));
    const data = isRecord(body) ? body['data'] : undefined;
    const leaseId = isRecord(body) ? body['lease_id'] : undefined;
    const seconds = isRecord(body) ? body['lease_duration'] : undefined;
    if (!isRecord(data) || typeof leaseId !== 'string' || !LEASE_ID.test(leaseId) || typeof seconds !== 'number') {
      throw this.conn.unexpected(ctx);
    }
    return {
      leaseId,
      leaseSeconds: Math.max(0, Math.floor(seconds)),
      renewable: isRecord(body) && body['renewable'] === true,
      fields: fieldsOf(data),
    };
  }

  /** PUT `sys/leases/renew`: asks for `incrementSeconds` more; answers what Vault granted. */
  async renewLease(leaseId: string, incrementSeconds: number): Promise<VaultLeaseRenewal> {
    const ctx = { op: 'renew' as const, path: 'sys/leases/renew' };
    const body = await this.conn.call(ctx, (c, o) =>
      c.write('sys/leases/renew', { lease_id: leaseId, increment: Math.max(1, Math.floor(incrementSeconds)) }, o),
    );
    const seconds = isRecord(body) ? body['lease_duration'] : undefined;
    if (typeof seconds !== 'number') throw this.conn.unexpected(ctx);
    return { leaseSeconds: Math.max(0, Math.floor(seconds)), renewable: isRecord(body) && body['renewable'] === true };
  }

  /** PUT `sys/leases/revoke`: the credentials stop working. Idempotent. */
  async revokeLease(leaseId: string): Promise<void> {
    const ctx = { op: 'revoke' as const, path: 'sys/leases/revoke' };
    await this.conn.call(ctx, (c, o) => c.write('sys/leases/revoke', { lease_id: leaseId }, o));
  }

  /** The engine type of the mount `mount` (`database`, `kv`...), from Vault's mount preflight; undefined when not visible. */
  async mountType(mount: string): Promise<string | undefined> {
    const ctx = { op: 'read' as const, path: `sys/internal/ui/mounts/${mount}` };
    const body = await this.conn.call(ctx, (c, o) => c.read(`sys/internal/ui/mounts/${encodePath(mount)}`, o), {
      allow404: true,
    });
    const data = isRecord(body) ? body['data'] : undefined;
    return isRecord(data) && typeof data['type'] === 'string' ? data['type'] : undefined;
  }
}
