/**
 * A KV version 1 mount: a path holds its fields directly (no `data/` or
 * `metadata/` prefix, no versions). Read answers the fields with KV v1's
 * lease, a write answers 204, LIST the children; reading a KV v2 path
 * (`<mount>/data/<p>`) on it finds nothing, as on a real v1 mount.
 */
import { errors, unsupportedOperation } from './failure.js';
import { envelope } from './responses.js';
import { listKeys, type VaultReply, type VaultRequest } from './routes.js';
import { type Mount, trimSlashes, writeVersion } from './store.js';

/** KV v1 answers reads with a 768 h lease (its default TTL). */
const KV1_LEASE_SECONDS = 2_764_800;

export function kv1Route(mount: Mount, rest: string, req: VaultRequest): VaultReply {
  const path = trimSlashes(rest);
  if (req.isList) return listKeys(mount, path);
  if (req.method === 'GET') {
    const secret = mount.get(path);
    const data = secret?.versions.get(secret.currentVersion)?.data;
    if (path === '' || data === undefined || data === null) throw errors(404);
    return { status: 200, body: envelope({ ...data }, { lease_duration: KV1_LEASE_SECONDS }) };
  }
  if (req.method === 'POST' || req.method === 'PUT') {
    if (path === '') throw unsupportedOperation();
    writeVersion(mount, path, req.body, 1);
    return { status: 204 };
  }
  if (req.method === 'DELETE') {
    mount.delete(path);
    return { status: 204 };
  }
  throw unsupportedOperation();
}
