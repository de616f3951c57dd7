/**
 * The Vault emulator's routes: request fields in, store calls, response
 * shapes out. One handler per route family: AppRole login, the token's own
 * lookup and renewal, and KV v2 `data/`, `metadata/`, `delete/`|`destroy/`.
 */
import { errors, unsupportedOperation } from './failure.js';
import { authResponse, envelope, lookupSelfResponse, versionMetadata } from './responses.js';
import {
  destroy,
  renewToken,
  softDelete,
  trimSlashes,
  writeVersion,
  type Mount,
  type TokenState,
  type VaultStore,
  type VersionState,
} from './store.js';

/** What a route reads of the request. */
export interface VaultRequest {
  method: string;
  query: URLSearchParams;
  body: Record<string, unknown>;
  /** A LIST, or a GET with a true `list` parameter. */
  isList: boolean;
}

/** A status and a JSON body (none for 204). */
export interface VaultReply {
  status: number;
  body?: unknown;
}

const writes = (method: string) => method === 'POST' || method === 'PUT';

/** Seconds from a number or a `30s`/`5m`/`1h` string; undefined when neither. */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.floor(v);
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+)([smh]?)$/.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] === 'h' ? n * 3600 : m[2] === 'm' ? n * 60 : n;
}

/** POST `auth/<mount>/login` with `{role_id, secret_id}`. */
export function loginRoute(store: VaultStore, authMount: string, body: Record<string, unknown>): VaultReply {
  const roleId = body['role_id'];
  const secretId = body['secret_id'];
  if (typeof roleId !== 'string' || roleId === '') throw errors(400, 'missing role_id');
  if (typeof secretId !== 'string' || secretId === '') throw errors(400, 'missing secret_id');
  const role = store.findAppRole(authMount, roleId, secretId);
  if (!role) throw errors(400, 'invalid role or secret ID');
  const { token, state } = store.issueToken(
    role.policyPrefixes,
    role.leaseSeconds,
    `approle`,
    `auth/${authMount}/login`,
  );
  return { status: 200, body: authResponse(token, state, { metadata: { role_name: role.roleName }, renewable: true }) };
}

/** `auth/token/lookup-self` (GET, POST) and `auth/token/renew-self` (POST, PUT). */
export function tokenSelfRoute(op: string, token: string, state: TokenState, req: VaultRequest): VaultReply {
  if (op === 'lookup-self' && (req.method === 'GET' || req.method === 'POST')) {
    return { status: 200, body: lookupSelfResponse(token, state) };
  }
  if (op === 'renew-self' && writes(req.method)) {
    renewToken(state, parseDuration(req.body['increment']));
    return { status: 200, body: authResponse(token, state) };
  }
  throw unsupportedOperation();
}

/** Everything below a KV v2 mount; `rest` is the path after `<mount>/`. */
export function kvRoute(mount: Mount, rest: string, req: VaultRequest): VaultReply {
  const slash = rest.indexOf('/');
  const kind = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : trimSlashes(rest.slice(slash + 1));
  if (kind === 'data') return dataRoute(mount, path, req);
  if (kind === 'metadata') return metadataRoute(mount, path, req);
  if (kind === 'delete' || kind === 'destroy') return versionsRoute(mount, path, kind, req);
  throw errors(404, `1 error occurred:\n\t* unsupported path\n\n`);
}

function dataRoute(mount: Mount, path: string, req: VaultRequest): VaultReply {
  if (req.isList) throw unsupportedOperation();
  if (path === '') throw errors(404);
  if (req.method === 'GET') return readData(mount, path, req.query.get('version'));
  if (writes(req.method)) return writeData(mount, path, req.body);
  if (req.method === 'DELETE') {
    const secret = mount.get(path);
    if (secret) softDelete(secret, secret.currentVersion);
    return { status: 204 };
  }
  throw unsupportedOperation();
}

function readData(mount: Mount, path: string, rawVersion: string | null): VaultReply {
  const secret = mount.get(path);
  let version = secret?.currentVersion ?? 0;
  if (rawVersion !== null && rawVersion !== '' && rawVersion !== '0') {
    if (!/^\d+$/.test(rawVersion)) throw errors(400, `error parsing version: invalid syntax`);
    version = Number(rawVersion);
  }
  const v = secret?.versions.get(version);
  if (!secret || !v) throw errors(404);
  const data = {
    data: v.deletionTime !== '' || v.destroyed ? null : v.data,
    metadata: versionMetadata(v, version),
  };
  return { status: data.data === null ? 404 : 200, body: envelope(data) };
}

function writeData(mount: Mount, path: string, body: Record<string, unknown>): VaultReply {
  const data = body['data'];
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw errors(400, 'no data provided');
  const options = body['options'];
  const cas = options !== null && typeof options === 'object' ? (options as Record<string, unknown>)['cas'] : undefined;
  if (typeof cas === 'number' && cas !== (mount.get(path)?.currentVersion ?? 0)) {
    throw errors(400, 'check-and-set parameter did not match the current version');
  }
  const version = writeVersion(mount, path, data as Record<string, unknown>);
  const v = mount.get(path)?.versions.get(version) as VersionState;
  return { status: 200, body: envelope(versionMetadata(v, version)) };
}

function metadataRoute(mount: Mount, path: string, req: VaultRequest): VaultReply {
  if (req.isList) return listKeys(mount, path);
  if (path === '') throw errors(404);
  if (req.method === 'GET') return readMetadata(mount, path);
  if (req.method === 'DELETE') {
    mount.delete(path);
    return { status: 204 };
  }
  throw unsupportedOperation();
}

/** The children of a folder, sub-folders ending in `/`; an empty or missing folder is 404. */
export function listKeys(mount: Mount, path: string): VaultReply {
  const prefix = path === '' ? '' : `${path}/`;
  const keys = new Set<string>();
  for (const p of mount.keys()) {
    if (!p.startsWith(prefix)) continue;
    const tail = p.slice(prefix.length);
    const i = tail.indexOf('/');
    keys.add(i < 0 ? tail : `${tail.slice(0, i)}/`);
  }
  if (keys.size === 0) throw errors(404);
  return { status: 200, body: envelope({ keys: [...keys].sort() }) };
}

function readMetadata(mount: Mount, path: string): VaultReply {
  const secret = mount.get(path);
  if (!secret) throw errors(404);
  const versions: Record<string, unknown> = {};
  for (const [n, v] of [...secret.versions.entries()].sort((a, b) => a[0] - b[0])) {
    versions[String(n)] = { created_time: v.createdTime, deletion_time: v.deletionTime, destroyed: v.destroyed };
  }
  return {
    status: 200,
    body: envelope({
      cas_required: false,
      created_time: secret.createdTime,
      current_version: secret.currentVersion,
      custom_metadata: null,
      delete_version_after: '0s',
      max_versions: 0,
      oldest_version: secret.oldestVersion,
      updated_time: secret.updatedTime,
      versions,
    }),
  };
}

/** POST/PUT `delete/<p>` or `destroy/<p>` with `{"versions": [...]}`. */
function versionsRoute(mount: Mount, path: string, kind: 'delete' | 'destroy', req: VaultRequest): VaultReply {
  if (req.isList || !writes(req.method)) throw unsupportedOperation();
  const versions = req.body['versions'];
  if (!Array.isArray(versions) || versions.length === 0) throw errors(400, 'no version number provided');
  const secret = mount.get(path);
  if (secret) {
    for (const n of versions) {
      if (typeof n === 'number') (kind === 'delete' ? softDelete : destroy)(secret, n);
    }
  }
  return { status: 204 };
}
