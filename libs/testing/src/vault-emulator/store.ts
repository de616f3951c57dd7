/**
 * The Vault emulator's state: namespaces, KV v2 mounts with their secrets'
 * versions and metadata, tokens with their policy prefixes and leases, and
 * AppRoles. No HTTP here; failures a request must see are `VaultFailure`s.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { DatabaseEngines, EmulatorClock, type DatabaseRole } from './database-engine.js';
import { POLICY_DENIED, errors } from './failure.js';
import type { AddAppRoleOptions } from './types.js';

export interface VersionState {
  data: Record<string, unknown> | null;
  createdTime: string;
  deletionTime: string;
  destroyed: boolean;
}

export interface SecretState {
  createdTime: string;
  updatedTime: string;
  currentVersion: number;
  oldestVersion: number;
  versions: Map<number, VersionState>;
}

/** A KV mount's secrets by path (KV v1 keeps only the latest version of each). */
export type Mount = Map<string, SecretState>;

/** The KV engine version of a mount: 1 (plain key/value) or 2 (versioned, `data/` and `metadata/`). */
export type KvVersion = 1 | 2;

/** A mount as `sys/mounts` describes it, and its secrets. */
export interface MountEntry {
  /** The mount's path without slashes, e.g. `secret` or `team/kv`. */
  name: string;
  version: KvVersion;
  accessor: string;
  uuid: string;
  secrets: Mount;
}

export interface TokenState {
  /** undefined for root */
  policyPrefixes: string[] | undefined;
  accessor: string;
  creationTime: number;
  ttlSeconds: number;
  expiresAt: number | undefined;
  displayName: string;
  path: string;
}

interface AppRoleState {
  roleId: string;
  secretId: string;
  policyPrefixes: string[];
  leaseSeconds: number;
  mount: string;
  roleName: string;
}

const MAX_VERSIONS = 10;
export const DEFAULT_TOKEN_TTL = 768 * 3600;

export function trimSlashes(s: string): string {
  return s.replace(/^\/+|\/+$/g, '');
}

export function joinNs(ns: string, child: string): string {
  return ns === '' ? child : `${ns}/${child}`;
}

export function newToken(): string {
  return `hvs.${randomBytes(18).toString('base64url')}`;
}

const newAccessor = () => randomBytes(12).toString('base64url');
const nowIso = () => new Date().toISOString();

export class VaultStore {
  readonly #namespaces = new Set<string>(['']);
  /** key: `<namespace>\n<mount>` */
  readonly #mounts = new Map<string, MountEntry>();
  readonly #tokens = new Map<string, TokenState>();
  readonly #appRoles: AppRoleState[] = [];
  #roleCounter = 0;
  /** The emulator's clock (database leases follow it; tokens use real time). */
  readonly clock = new EmulatorClock();
  /** Database secrets engine mounts, their roles and leases. */
  readonly databases = new DatabaseEngines(this.clock);

  constructor(rootToken: string, mounts: string[], kv1Mounts: string[] = []) {
    this.#tokens.set(rootToken, {
      policyPrefixes: undefined,
      accessor: newAccessor(),
      creationTime: Math.floor(Date.now() / 1000),
      ttlSeconds: 0,
      expiresAt: undefined,
      displayName: 'root',
      path: 'auth/token/root',
    });
    for (const m of mounts) this.createMount(m, '');
    for (const m of kv1Mounts) this.createMount(m, '', 1);
  }

  hasNamespace(ns: string): boolean {
    return this.#namespaces.has(ns);
  }

  #addNamespaces(ns: string): void {
    const parts = ns === '' ? [] : ns.split('/');
    for (let i = 1; i <= parts.length; i++) this.#namespaces.add(parts.slice(0, i).join('/'));
  }

  /** Creates a KV mount of `version` (and the namespaces on its way); false when the path is taken. */
  createMount(name: string, ns: string, version: KvVersion = 2): boolean {
    this.#addNamespaces(ns);
    const key = mountKey(ns, trimSlashes(name));
    if (this.#mounts.has(key)) return false;
    this.#mounts.set(key, {
      name: trimSlashes(name),
      version,
      accessor: `kv_${randomBytes(4).toString('hex')}`,
      uuid: randomUUID(),
      secrets: new Map(),
    });
    return true;
  }

  /** Adds a role to a database secrets engine mount (created, with its namespaces, if new). */
  addDatabaseRole(ns: string, mount: string, role: string, r: DatabaseRole): void {
    const name = trimSlashes(mount);
    if (this.#mounts.has(mountKey(ns, name))) throw new Error(`vault emulator: "${name}" is a KV mount already`);
    this.#addNamespaces(ns);
    this.databases.addRole(ns, name, role, r);
  }

  /** Disables a mount and drops its secrets; false when there was none. */
  removeMount(name: string, ns: string): boolean {
    return this.#mounts.delete(mountKey(ns, trimSlashes(name)));
  }

  /** The mounts of a namespace, by name. */
  mountsIn(ns: string): MountEntry[] {
    return [...this.#mounts.entries()]
      .filter(([key]) => key.split('\n')[0] === ns)
      .map(([, m]) => m)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** A mount the test set up; a mistake in the test when missing. */
  requireMount(name: string, ns: string): MountEntry {
    const m = this.#mounts.get(mountKey(trimSlashes(ns), trimSlashes(name)));
    if (!m) throw new Error(`vault emulator: no mount "${name}" in namespace "${ns}"`);
    return m;
  }

  /** The mount in `ns` whose name is the longest prefix of `rel`. */
  findMount(ns: string, rel: string): MountEntry | undefined {
    if (!this.#namespaces.has(ns)) return undefined;
    let best: MountEntry | undefined;
    for (const m of this.mountsIn(ns)) {
      if ((rel === m.name || rel.startsWith(`${m.name}/`)) && (best === undefined || m.name.length > best.name.length))
        best = m;
    }
    return best;
  }

  issueToken(
    policyPrefixes: string[],
    ttlSeconds: number,
    displayName: string,
    path: string,
  ): { token: string; state: TokenState } {
    const token = newToken();
    const now = Date.now();
    const state: TokenState = {
      policyPrefixes: [...policyPrefixes],
      accessor: newAccessor(),
      creationTime: Math.floor(now / 1000),
      ttlSeconds,
      expiresAt: now + ttlSeconds * 1000,
      displayName,
      path,
    };
    this.#tokens.set(token, state);
    return { token, state };
  }

  /** The state of a live token; 403 `permission denied` for a missing, unknown or expired one. */
  checkToken(token: string | undefined): TokenState {
    const state = token === undefined ? undefined : this.#tokens.get(token);
    if (token === undefined || !state) throw errors(403, 'permission denied');
    if (state.expiresAt !== undefined && Date.now() >= state.expiresAt) {
      this.#tokens.delete(token);
      throw errors(403, 'permission denied');
    }
    return state;
  }

  addAppRole(roleId: string, secretId: string, policyPrefixes: string[], o: AddAppRoleOptions): void {
    this.#roleCounter += 1;
    this.#appRoles.push({
      roleId,
      secretId,
      policyPrefixes: [...policyPrefixes],
      leaseSeconds: o.leaseSeconds ?? 1200,
      mount: o.mount ?? 'approle',
      roleName: o.roleName ?? `role-${this.#roleCounter}`,
    });
  }

  hasAppRoleMount(mount: string): boolean {
    return this.#appRoles.some((r) => r.mount === mount);
  }

  findAppRole(mount: string, roleId: string, secretId: string): AppRoleState | undefined {
    return this.#appRoles.find((r) => r.mount === mount && r.roleId === roleId && r.secretId === secretId);
  }
}

const mountKey = (ns: string, name: string) => `${ns}\n${name}`;

/** 403 (the "1 error occurred" form) unless the token's prefixes allow `fullPath`; root may do anything. */
export function checkPolicy(state: TokenState, fullPath: string): void {
  if (state.policyPrefixes === undefined) return;
  if (!state.policyPrefixes.some((p) => fullPath.startsWith(p))) throw errors(403, POLICY_DENIED);
}

/** Extends a token by `seconds` from now; the root token never expires. */
export function renewToken(state: TokenState, seconds: number | undefined): void {
  if (state.policyPrefixes === undefined) return;
  const increment = seconds ?? state.ttlSeconds;
  state.ttlSeconds = increment;
  state.expiresAt = Date.now() + increment * 1000;
}

/** Writes a new version, keeping at most `maxVersions` (10, like Vault's default `max_versions`). */
export function writeVersion(
  mount: Mount,
  path: string,
  data: Record<string, unknown>,
  maxVersions = MAX_VERSIONS,
): number {
  const now = nowIso();
  let secret = mount.get(path);
  if (!secret) {
    secret = { createdTime: now, updatedTime: now, currentVersion: 0, oldestVersion: 0, versions: new Map() };
    mount.set(path, secret);
  }
  const version = secret.currentVersion + 1;
  secret.currentVersion = version;
  secret.updatedTime = now;
  secret.versions.set(version, { data: { ...data }, createdTime: now, deletionTime: '', destroyed: false });
  if (secret.oldestVersion === 0) secret.oldestVersion = version;
  while (secret.versions.size > maxVersions) {
    secret.versions.delete(secret.oldestVersion);
    secret.oldestVersion += 1;
  }
  return version;
}

export function softDelete(secret: SecretState, version: number): void {
  const v = secret.versions.get(version);
  if (v && !v.destroyed && v.deletionTime === '') v.deletionTime = nowIso();
}

export function destroy(secret: SecretState, version: number): void {
  const v = secret.versions.get(version);
  if (v) {
    v.destroyed = true;
    v.data = null;
  }
}
