/**
 * The Vault emulator's state: namespaces, KV v2 mounts with their secrets'
 * versions and metadata, tokens with their policy prefixes and leases, and
 * AppRoles. No HTTP here; failures a request must see are `VaultFailure`s.
 */
import { randomBytes } from 'node:crypto';
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

/** A KV v2 mount: secrets by path. */
export type Mount = Map<string, SecretState>;

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
  readonly #mounts = new Map<string, Mount>();
  readonly #tokens = new Map<string, TokenState>();
  readonly #appRoles: AppRoleState[] = [];
  #roleCounter = 0;

  constructor(rootToken: string, mounts: string[]) {
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
  }

  hasNamespace(ns: string): boolean {
    return this.#namespaces.has(ns);
  }

  /** Creates a mount (and the namespaces on its way). Idempotent. */
  createMount(name: string, ns: string): void {
    const parts = ns === '' ? [] : ns.split('/');
    for (let i = 1; i <= parts.length; i++) this.#namespaces.add(parts.slice(0, i).join('/'));
    const key = mountKey(ns, trimSlashes(name));
    if (!this.#mounts.has(key)) this.#mounts.set(key, new Map());
  }

  /** A mount the test set up; a mistake in the test when missing. */
  requireMount(name: string, ns: string): Mount {
    const m = this.#mounts.get(mountKey(trimSlashes(ns), trimSlashes(name)));
    if (!m) throw new Error(`vault emulator: no mount "${name}" in namespace "${ns}"`);
    return m;
  }

  /** The mount in `ns` whose name is the longest prefix of `rel`, with that name. */
  findMount(ns: string, rel: string): { name: string; mount: Mount } | undefined {
    if (!this.#namespaces.has(ns)) return undefined;
    let best: { name: string; mount: Mount } | undefined;
    for (const [key, mount] of this.#mounts) {
      const [mns, name] = key.split('\n') as [string, string];
      if (mns !== ns) continue;
      if ((rel === name || rel.startsWith(`${name}/`)) && (best === undefined || name.length > best.name.length))
        best = { name, mount };
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

/** Writes a new version, keeping at most 10 like Vault's default `max_versions`. */
export function writeVersion(mount: Mount, path: string, data: Record<string, unknown>): number {
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
  while (secret.versions.size > MAX_VERSIONS) {
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
