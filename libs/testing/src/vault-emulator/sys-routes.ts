/**
 * The Vault emulator's `sys/` routes: the seal status, the mount table
 * (`sys/mounts`: list, enable, disable) and the preflight that Vault's own
 * CLI sends before a `vault kv` command to learn a mount's KV version
 * (`sys/internal/ui/mounts/<path>`, which names a database mount's type too).
 */
import { errors } from './failure.js';
import { envelope } from './responses.js';
import type { VaultReply, VaultRequest } from './routes.js';
import {
  type KvVersion,
  type MountEntry,
  type TokenState,
  type VaultStore,
  checkPolicy,
  joinNs,
  trimSlashes,
} from './store.js';

export const EMULATED_VAULT_VERSION = '1.20.0-emulator';

/** `sys/seal-status` (unauthenticated, answered while sealed too). */
export function sealStatus(sealed: boolean): VaultReply {
  return {
    status: 200,
    body: {
      type: 'shamir',
      initialized: true,
      sealed,
      t: 1,
      n: 1,
      progress: 0,
      nonce: '',
      version: EMULATED_VAULT_VERSION,
      build_date: '2026-01-01T00:00:00Z',
      migration: false,
      recovery_seal: false,
      storage_type: 'inmem',
      ...(sealed ? {} : { cluster_name: 'emulator', cluster_id: '00000000-0000-0000-0000-000000000000' }),
    },
  };
}

/** How `sys/mounts` describes a KV mount. */
function describeMount(m: MountEntry): Record<string, unknown> {
  return {
    accessor: m.accessor,
    config: { default_lease_ttl: 0, force_no_cache: false, max_lease_ttl: 0 },
    description: '',
    external_entropy_access: false,
    local: false,
    options: { version: String(m.version) },
    plugin_version: '',
    running_plugin_version: 'v0.20.0+builtin',
    running_sha256: '',
    seal_wrap: false,
    type: 'kv',
    uuid: m.uuid,
  };
}

const BUILTIN = { cubbyhole: 'cubbyhole', identity: 'identity', sys: 'system' } as const;

function mountTable(store: VaultStore, ns: string): Record<string, unknown> {
  const table: Record<string, unknown> = {};
  for (const m of store.mountsIn(ns)) table[`${m.name}/`] = describeMount(m);
  for (const [name, type] of Object.entries(BUILTIN)) {
    table[`${name}/`] = {
      ...describeMount({ name, version: 1, accessor: `${name}_emulator`, uuid: name, secrets: new Map() }),
      type,
      options: null,
    };
  }
  return table;
}

/** The KV version a `sys/mounts/<p>` POST asks for: `kv` is v1 unless `options.version` says 2; `kv-v2` is v2. */
function requestedVersion(body: Record<string, unknown>): KvVersion {
  const type = body['type'];
  const options = body['options'];
  const version =
    options !== null && typeof options === 'object' ? (options as Record<string, unknown>)['version'] : undefined;
  if (type === 'kv-v2') return 2;
  if (type !== 'kv') {
    throw errors(400, `1 error occurred:\n\t* plugin not found in the catalog: ${String(type)}\n\n`);
  }
  if (version === undefined || version === '' || version === '1' || version === 1) return 1;
  if (version === '2' || version === 2) return 2;
  throw errors(400, `invalid KV version "${String(version)}"`);
}

/** True when a token's policies reach some path inside the mount (what Vault asks before it describes one). */
function reachesMount(state: TokenState, mountPath: string): boolean {
  if (state.policyPrefixes === undefined) return true;
  return state.policyPrefixes.some((p) => p.startsWith(mountPath) || mountPath.startsWith(p));
}

/** `sys/mounts`, `sys/mounts/<path>` and `sys/internal/ui/mounts/<path>`; undefined for any other path. */
export function sysRoute(
  store: VaultStore,
  ns: string,
  rel: string,
  state: TokenState,
  req: VaultRequest,
): VaultReply | undefined {
  const full = joinNs(ns, rel);
  if (rel === 'sys/mounts') {
    if (req.method !== 'GET') throw errors(405, '1 error occurred:\n\t* unsupported operation\n\n');
    checkPolicy(state, full);
    const table = mountTable(store, ns);
    return { status: 200, body: { ...table, ...envelope(table), mount_type: 'system' } };
  }
  if (rel.startsWith('sys/mounts/')) {
    checkPolicy(state, full);
    const path = trimSlashes(rel.slice('sys/mounts/'.length));
    if (req.method === 'POST' || req.method === 'PUT') {
      if (!store.createMount(path, ns, requestedVersion(req.body))) {
        throw errors(400, `path is already in use at ${path}/`);
      }
      return { status: 204 };
    }
    if (req.method === 'DELETE') {
      store.removeMount(path, ns);
      return { status: 204 };
    }
    throw errors(405, '1 error occurred:\n\t* unsupported operation\n\n');
  }
  if (rel.startsWith('sys/internal/ui/mounts/')) {
    if (req.method !== 'GET') throw errors(405, '1 error occurred:\n\t* unsupported operation\n\n');
    const path = trimSlashes(rel.slice('sys/internal/ui/mounts/'.length));
    const database = store.databases.findMount(ns, path);
    if (database !== undefined && reachesMount(state, `${joinNs(ns, database)}/`)) {
      const entry = { name: database, version: 1 as const, accessor: `database_${database}`, uuid: database };
      const described = { ...describeMount({ ...entry, secrets: new Map() }), type: 'database', options: null };
      return { status: 200, body: { ...envelope({ ...described, path: `${database}/` }), mount_type: '' } };
    }
    const found = store.findMount(ns, path);
    // A missing mount and one the token may not touch look the same, so that
    // the route cannot be used to list mounts.
    if (found === undefined || !reachesMount(state, `${joinNs(ns, found.name)}/`)) {
      throw errors(
        403,
        `preflight capability check returned 403, please ensure client's policies grant access to path "${path}/"`,
      );
    }
    return { status: 200, body: { ...envelope({ ...describeMount(found), path: `${found.name}/` }), mount_type: '' } };
  }
  return undefined;
}
