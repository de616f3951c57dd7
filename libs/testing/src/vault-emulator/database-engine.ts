/**
 * The Vault emulator's database secrets engine state: mounts with their
 * roles, and the leases of the credentials they issued. No HTTP here; what a
 * request must see is a `VaultFailure`.
 *
 * From Vault's documentation (API: database secrets engine, `sys/leases`):
 * - `GET <mount>/creds/<role>` creates a fresh username/password for each
 *   read, with a lease `<mount>/creds/<role>/<id>` of the role's
 *   `default_ttl`, renewable, never beyond the role's `max_ttl` from issue.
 * - `sys/leases/renew` extends a lease by the increment (the role's
 *   `default_ttl` without one), capped at what `max_ttl` leaves, with a
 *   warning when capped; an unknown, revoked or expired lease is 400
 *   `lease not found`.
 * - `sys/leases/revoke` ends a lease at once (the credentials stop working);
 *   revoking an unknown lease succeeds, as in Vault.
 * - `sys/leases/lookup` describes a lease; an unknown one is 400 `invalid lease`.
 * A lease whose time is up is gone (Vault revokes it on expiry).
 *
 * Time is the emulator's: real time plus what a test added with `advanceClock`.
 */
import { randomBytes } from 'node:crypto';
import { errors } from './failure.js';

export interface DatabaseRole {
  defaultTtlSeconds: number;
  maxTtlSeconds: number;
}

export type LeaseState = 'active' | 'revoked' | 'expired';

export interface LeaseRecord {
  leaseId: string;
  /** '' for the root namespace. */
  namespace: string;
  mount: string;
  role: string;
  username: string;
  password: string;
  issuedAt: number;
  expiresAt: number;
  lastRenewal: number | undefined;
  renewals: number;
  /** `expired` once its time was up (seen at the next look); `revoked` by a revoke. */
  state: LeaseState;
}

/** A test's clock for the emulator: real time plus an offset. */
export class EmulatorClock {
  #offsetMs = 0;

  now(): number {
    return Date.now() + this.#offsetMs;
  }

  advance(seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0)
      throw new Error(`advanceClock: ${seconds} is not a number of seconds >= 0`);
    this.#offsetMs += seconds * 1000;
  }
}

const dbKey = (ns: string, mount: string) => `${ns}\n${mount}`;

export class DatabaseEngines {
  /** key: `<namespace>\n<mount>`, value: its roles by name. */
  readonly #mounts = new Map<string, Map<string, DatabaseRole>>();
  /** Every lease ever issued, by namespace and id (revoked and expired ones stay, for tests to see). */
  readonly #leases = new Map<string, LeaseRecord>();

  constructor(readonly clock: EmulatorClock) {}

  /** Adds (or replaces) a role on a database mount, creating the mount. */
  addRole(ns: string, mount: string, role: string, r: DatabaseRole): void {
    if (!/^[A-Za-z0-9_.-]+$/.test(role)) throw new Error(`vault emulator: "${role}" is not a role name`);
    if (r.defaultTtlSeconds <= 0 || r.maxTtlSeconds < r.defaultTtlSeconds) {
      throw new Error('vault emulator: a role needs 0 < defaultTtlSeconds <= maxTtlSeconds');
    }
    const key = dbKey(ns, mount);
    const roles = this.#mounts.get(key) ?? new Map<string, DatabaseRole>();
    roles.set(role, { ...r });
    this.#mounts.set(key, roles);
  }

  /** The database mount in `ns` whose name is the longest prefix of `rel`. */
  findMount(ns: string, rel: string): string | undefined {
    let best: string | undefined;
    for (const key of this.#mounts.keys()) {
      const [keyNs, name] = key.split('\n') as [string, string];
      if (keyNs !== ns || !(rel === name || rel.startsWith(`${name}/`))) continue;
      if (best === undefined || name.length > best.length) best = name;
    }
    return best;
  }

  mountsIn(ns: string): string[] {
    return [...this.#mounts.keys()].filter((k) => k.split('\n')[0] === ns).map((k) => k.split('\n')[1] as string);
  }

  /** New credentials and their lease; 400 `unknown role` like Vault for a role the mount lacks. */
  issue(ns: string, mount: string, role: string): LeaseRecord {
    const r = this.#mounts.get(dbKey(ns, mount))?.get(role);
    if (!r) throw errors(400, `unknown role: ${role}`);
    const now = this.clock.now();
    const lease: LeaseRecord = {
      leaseId: `${mount}/creds/${role}/${randomBytes(18).toString('base64url')}`,
      namespace: ns,
      mount,
      role,
      username: `v-token-${role.slice(0, 10)}-${randomBytes(10).toString('hex')}`,
      password: `A1a-${randomBytes(15).toString('base64url')}`,
      issuedAt: now,
      expiresAt: now + r.defaultTtlSeconds * 1000,
      lastRenewal: undefined,
      renewals: 0,
      state: 'active',
    };
    this.#leases.set(dbKey(ns, lease.leaseId), lease);
    return lease;
  }

  /** An active lease; undefined when unknown, revoked or expired (which it marks so). */
  #active(ns: string, leaseId: string): LeaseRecord | undefined {
    const lease = this.#leases.get(dbKey(ns, leaseId));
    if (!lease || lease.state !== 'active') return undefined;
    if (this.clock.now() >= lease.expiresAt) {
      lease.state = 'expired';
      return undefined;
    }
    return lease;
  }

  /** Extends the lease; returns the granted seconds and a warning when `max_ttl` capped them. */
  renew(ns: string, leaseId: string, incrementSeconds: number | undefined): { lease: LeaseRecord; warning?: string } {
    const lease = this.#active(ns, leaseId);
    if (!lease) throw errors(400, 'lease not found');
    const role = this.#mounts.get(dbKey(ns, lease.mount))?.get(lease.role);
    if (!role) throw errors(400, 'lease not found');
    const now = this.clock.now();
    const wanted = incrementSeconds !== undefined && incrementSeconds > 0 ? incrementSeconds : role.defaultTtlSeconds;
    const left = Math.floor((lease.issuedAt + role.maxTtlSeconds * 1000 - now) / 1000);
    const granted = Math.max(0, Math.min(wanted, left));
    lease.expiresAt = now + granted * 1000;
    lease.lastRenewal = now;
    lease.renewals += 1;
    return granted < wanted
      ? {
          lease,
          warning: `TTL of "${wanted}s" exceeded the effective max_ttl of "${granted}s"; TTL value is capped accordingly`,
        }
      : { lease };
  }

  /** Ends the lease now; an unknown or ended lease is no error. */
  revoke(ns: string, leaseId: string): void {
    const lease = this.#active(ns, leaseId);
    if (lease) lease.state = 'revoked';
  }

  lookup(ns: string, leaseId: string): LeaseRecord {
    const lease = this.#active(ns, leaseId);
    if (!lease) throw errors(400, 'invalid lease');
    return lease;
  }

  /** Every lease issued, oldest first, each state brought up to date. */
  all(): LeaseRecord[] {
    const out: LeaseRecord[] = [];
    for (const lease of this.#leases.values()) {
      this.#active(lease.namespace, lease.leaseId);
      out.push({ ...lease });
    }
    return out.sort((a, b) => a.issuedAt - b.issuedAt);
  }
}
