/**
 * The one Vault client Latchkey's Vault adapters use: KV v2 reads, writes,
 * lists and metadata (each mount checked to be KV v2 first), and token
 * lookup, over one VaultConnection (vault-connection.ts: the token, node-vault
 * set up safely, the error mapping).
 *
 * A client made with `readOnlyVaultClient` refuses every write before a
 * request is built, and exposes no write method. Dynamic secrets
 * (vault-leases.ts): credentials read under a lease, and that lease's
 * renewal and revocation, which write no secret.
 */
import { LatchkeyError } from '@latchkey/errors';
import { readOnlyRefused, vaultClientError, type CallContext, type Op } from './vault-client-errors.js';
import { isRecord, NotFound, VaultConnection, type VaultHttpClientOptions } from './vault-connection.js';
import { encodePath, KV2_EXAMPLE } from './vault-kv2-path.js';
import { VaultLeases, type VaultLeasedSecret, type VaultLeaseRenewal } from './vault-leases.js';

export type { VaultAuth } from './vault-auth.js';
export type { VaultHttpClientOptions } from './vault-connection.js';
export { parseKv2Path, type Kv2Location } from './vault-kv2-path.js';
export type { VaultLeasedSecret, VaultLeaseRenewal } from './vault-leases.js';

/** One KV v2 version. `data` is null (and `deleted` true) when that version is soft-deleted or destroyed. */
export interface Kv2Secret {
  /** Field values; non-string JSON values are given as their JSON text. */
  data: Record<string, string> | null;
  version: number;
  deleted: boolean;
}

export interface Kv2Metadata {
  currentVersion: number;
  oldestVersion: number;
  createdTime: string;
  updatedTime: string;
}

/** What lookup-self tells about the token, without the token or its accessor. */
export interface VaultTokenInfo {
  /** Seconds left; 0 for a token that never expires (root). */
  ttlSeconds: number;
  renewable: boolean;
  policies: string[];
  expireTime: string | null;
}

/** The read-only surface: all the integration reader may use. */
export interface VaultReadOnlyClient {
  /** `"name" (https://host:8200)` or the host, as used in error messages. */
  readonly label: string;
  /** GET `<mount>/data/<path>[?version=N]`; undefined when the path or version does not exist. */
  readKv2(mount: string, path: string, version?: number): Promise<Kv2Secret | undefined>;
  /** GET `<mount>/metadata/<folder>?list=1`: child names, folders ending in `/`; [] when empty or missing. */
  listKv2(mount: string, folder: string): Promise<string[]>;
  /** GET `<mount>/metadata/<path>`; undefined when missing. */
  metadataKv2(mount: string, path: string): Promise<Kv2Metadata | undefined>;
  /** GET `auth/token/lookup-self` (logs in first with AppRole). A bad token is `vault.auth_failed`. */
  lookupSelf(): Promise<VaultTokenInfo>;
  /** GET `<mount>/creds/<role>` (a dynamic-secrets engine): fresh credentials under a new lease. */
  readLeased(mount: string, role: string): Promise<VaultLeasedSecret>;
  /** PUT `sys/leases/renew`; a lease Vault no longer has is `vault.lease_not_found`. */
  renewLease(leaseId: string, incrementSeconds: number): Promise<VaultLeaseRenewal>;
  /** PUT `sys/leases/revoke`. Idempotent. */
  revokeLease(leaseId: string): Promise<void>;
  /** The engine type of a mount (`database`, `kv`...); undefined when Vault does not show it. */
  mountType(mount: string): Promise<string | undefined>;
}

function toStrings(data: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return out;
}

function versionOf(meta: unknown): number | undefined {
  const v = isRecord(meta) ? meta['version'] : undefined;
  return typeof v === 'number' ? v : undefined;
}

export type VaultClientMode = 'read-write' | 'read-only';

/**
 * A Vault client for one host and one set of credentials. Safe to share
 * between concurrent callers. Use `readOnlyVaultClient` for team-owned Vaults.
 */
export class VaultHttpClient implements VaultReadOnlyClient {
  readonly label: string;
  readonly #conn: VaultConnection;
  readonly #mode: VaultClientMode;
  readonly #leases: VaultLeases;
  /** The KV version check of each mount, made once per mount (a failed check is made again next time). */
  readonly #kv2Checks = new Map<string, Promise<void>>();

  constructor(opts: VaultHttpClientOptions, mode: VaultClientMode = 'read-write') {
    this.#conn = new VaultConnection(opts);
    this.label = this.#conn.label;
    this.#mode = mode;
    this.#leases = new VaultLeases(this.#conn);
  }

  readLeased(mount: string, role: string): Promise<VaultLeasedSecret> {
    return this.#leases.readLeased(mount, role);
  }

  renewLease(leaseId: string, incrementSeconds: number): Promise<VaultLeaseRenewal> {
    return this.#leases.renewLease(leaseId, incrementSeconds);
  }

  revokeLease(leaseId: string): Promise<void> {
    return this.#leases.revokeLease(leaseId);
  }

  mountType(mount: string): Promise<string | undefined> {
    return this.#leases.mountType(mount);
  }

  async readKv2(mount: string, path: string, version?: number): Promise<Kv2Secret | undefined> {
    const where = `${encodePath(mount)}/data/${encodePath(path)}`;
    const query = version === undefined ? '' : `?version=${encodeURIComponent(String(version))}`;
    const ctx = { op: 'read' as const, path: `${mount}/data/${path}` };
    await this.#requireKv2(mount, ctx);
    const body = await this.#call(ctx, (c, o) => c.read(`${where}${query}`, o), { allow404: true });
    if (body instanceof NotFound) {
      // Soft-deleted or destroyed: 404 with the full envelope and the version's metadata.
      const data = isRecord(body.body) ? body.body['data'] : undefined;
      const v = isRecord(data) ? versionOf(data['metadata']) : undefined;
      return v === undefined ? undefined : { data: null, version: v, deleted: true };
    }
    const data = isRecord(body) ? body['data'] : undefined;
    const fields = isRecord(data) ? data['data'] : undefined;
    const v = isRecord(data) ? versionOf(data['metadata']) : undefined;
    if (v === undefined || !(isRecord(fields) || fields === null)) throw this.#unexpected(ctx);
    return fields === null
      ? { data: null, version: v, deleted: true }
      : { data: toStrings(fields), version: v, deleted: false };
  }

  async writeKv2(mount: string, path: string, data: Record<string, string>): Promise<{ version: number }> {
    this.#assertWritable('write');
    const where = `${encodePath(mount)}/data/${encodePath(path)}`;
    const ctx = { op: 'write' as const, path: `${mount}/data/${path}` };
    await this.#requireKv2(mount, ctx);
    const body = await this.#call(ctx, (c, o) => c.write(where, { data }, o));
    const v = isRecord(body) ? versionOf(body['data']) : undefined;
    if (v === undefined) throw this.#unexpected(ctx);
    return { version: v };
  }

  async listKv2(mount: string, folder: string): Promise<string[]> {
    const where = `${encodePath(mount)}/metadata/${encodePath(folder)}`;
    const ctx = { op: 'list' as const, path: `${mount}/metadata/${folder}` };
    await this.#requireKv2(mount, ctx);
    const body = await this.#call(ctx, (c, o) => c.list(where, o), { allow404: true });
    if (body instanceof NotFound) return [];
    const data = isRecord(body) ? body['data'] : undefined;
    const keys = isRecord(data) ? data['keys'] : undefined;
    if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) throw this.#unexpected(ctx);
    return keys;
  }

  async metadataKv2(mount: string, path: string): Promise<Kv2Metadata | undefined> {
    const where = `${encodePath(mount)}/metadata/${encodePath(path)}`;
    const ctx = { op: 'metadata' as const, path: `${mount}/metadata/${path}` };
    await this.#requireKv2(mount, ctx);
    const body = await this.#call(ctx, (c, o) => c.read(where, o), { allow404: true });
    if (body instanceof NotFound) return undefined;
    const data = isRecord(body) ? body['data'] : undefined;
    if (!isRecord(data) || typeof data['current_version'] !== 'number') throw this.#unexpected(ctx);
    const str = (v: unknown) => (typeof v === 'string' ? v : '');
    return {
      currentVersion: data['current_version'],
      oldestVersion: typeof data['oldest_version'] === 'number' ? data['oldest_version'] : 0,
      createdTime: str(data['created_time']),
      updatedTime: str(data['updated_time']),
    };
  }

  /** DELETE `<mount>/metadata/<path>`: every version and the metadata. Idempotent. */
  async deleteAllKv2(mount: string, path: string): Promise<void> {
    this.#assertWritable('delete');
    const where = `${encodePath(mount)}/metadata/${encodePath(path)}`;
    const ctx = { op: 'delete' as const, path: `${mount}/metadata/${path}` };
    await this.#requireKv2(mount, ctx);
    await this.#call(ctx, (c, o) => c.delete(where, o), { allow404: true });
  }

  /** POST `<mount>/destroy/<path>` of `versions`: those versions' data is gone for good. Idempotent. */
  async destroyKv2(mount: string, path: string, versions: number[]): Promise<void> {
    this.#assertWritable('delete');
    const where = `${encodePath(mount)}/destroy/${encodePath(path)}`;
    const ctx = { op: 'delete' as const, path: `${mount}/destroy/${path}` };
    await this.#requireKv2(mount, ctx);
    await this.#call(ctx, (c, o) => c.write(where, { versions }, o), { allow404: true });
  }

  async lookupSelf(): Promise<VaultTokenInfo> {
    const ctx = { op: 'lookup' as const, path: 'auth/token/lookup-self' };
    const body = await this.#call(ctx, (c, o) => c.read('auth/token/lookup-self', o));
    const data = isRecord(body) ? body['data'] : undefined;
    if (!isRecord(data)) throw this.#unexpected(ctx);
    const policies = data['policies'];
    return {
      ttlSeconds: typeof data['ttl'] === 'number' ? data['ttl'] : 0,
      renewable: data['renewable'] === true,
      policies: Array.isArray(policies) ? policies.filter((p): p is string => typeof p === 'string') : [],
      expireTime: typeof data['expire_time'] === 'string' ? data['expire_time'] : null,
    };
  }

  /** Forgets a cached AppRole token (the next call logs in again). */
  forgetToken(): void {
    this.#conn.forgetToken();
  }

  /**
   * Makes sure `mount` is a KV v2 engine the way Vault's own CLI does before a
   * `vault kv` command: GET `sys/internal/ui/mounts/<mount>`, whose answer
   * names the engine's type, its mount path and `options.version`. A KV v1
   * mount (options without version "2", or a Vault too old to answer: 404) is
   * `vault.not_kv2`, not the "nothing found" its v2-shaped reads would give.
   * A 403 (no such mount, or the token may not see it: Vault answers both
   * alike) leaves it to the call itself to fail with its own error.
   */
  #requireKv2(mount: string, ctx: CallContext): Promise<void> {
    let check = this.#kv2Checks.get(mount);
    if (check === undefined) {
      check = this.#checkKv2(mount, ctx);
      this.#kv2Checks.set(mount, check);
      check.catch(() => this.#kv2Checks.delete(mount));
    }
    return check;
  }

  /** A failure of the check itself (unreachable, sealed...) is reported as the failure of `ctx`, the call it guards. */
  async #checkKv2(mount: string, ctx: CallContext): Promise<void> {
    const notKv2 = (what: string) =>
      vaultClientError(this.#conn.subject, 'vault.not_kv2', `${what}; ${KV2_EXAMPLE}`, {
        kind: 'failed_precondition',
        path: mount,
      });
    const kv1 = notKv2(
      `the mount "${mount}" is a KV version 1 secrets engine, which Latchkey does not read: ` +
        `upgrade it (vault kv enable-versioning ${mount}) or use a KV v2 mount`,
    );
    let body: unknown;
    try {
      body = await this.#call(ctx, (c, o) => c.read(`sys/internal/ui/mounts/${encodePath(mount)}`, o), {
        allow404: true,
      });
    } catch (err) {
      if (err instanceof LatchkeyError && err.code === 'vault.permission_denied') return;
      if (err instanceof LatchkeyError && err.code === 'vault.not_kv2') throw kv1;
      throw err;
    }
    if (body instanceof NotFound) throw kv1;
    const data = isRecord(body) ? body['data'] : undefined;
    if (!isRecord(data)) throw this.#unexpected(ctx);
    const type = data['type'];
    const options = data['options'];
    const version = isRecord(options) ? options['version'] : undefined;
    if (type !== 'kv' && type !== 'generic') {
      throw notKv2(`the mount "${mount}" is a ${String(type)} secrets engine, not KV v2`);
    }
    if (version !== '2') throw kv1;
  }

  #assertWritable(op: Op): void {
    if (this.#mode === 'read-only') throw readOnlyRefused(this.label, op);
  }

  #call(
    ctx: CallContext,
    run: Parameters<VaultConnection['call']>[1],
    opts?: { allow404?: boolean },
  ): Promise<unknown> {
    return this.#conn.call(ctx, run, opts);
  }

  #unexpected(ctx: CallContext): LatchkeyError {
    return this.#conn.unexpected(ctx);
  }
}

/**
 * A client for a Vault that Latchkey must never write to (team integrations):
 * only the read methods exist on the returned object, and the client behind
 * it refuses writes anyway.
 */
export function readOnlyVaultClient(opts: VaultHttpClientOptions): VaultReadOnlyClient {
  const client = new VaultHttpClient(opts, 'read-only');
  return Object.freeze({
    label: client.label,
    readKv2: (mount: string, path: string, version?: number) => client.readKv2(mount, path, version),
    listKv2: (mount: string, folder: string) => client.listKv2(mount, folder),
    metadataKv2: (mount: string, path: string) => client.metadataKv2(mount, path),
    lookupSelf: () => client.lookupSelf(),
    // Leases Vault issued to this client: renewing and revoking them writes no secret.
    readLeased: (mount: string, role: string) => client.readLeased(mount, role),
    renewLease: (leaseId: string, incrementSeconds: number) => client.renewLease(leaseId, incrementSeconds),
    revokeLease: (leaseId: string) => client.revokeLease(leaseId),
    mountType: (mount: string) => client.mountType(mount),
  });
}
