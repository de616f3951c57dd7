/** Vault's success shapes: the envelope, version metadata, `auth` blocks and the token lookup. */
import { randomUUID } from 'node:crypto';
import type { TokenState, VersionState } from './store.js';

export const envelope = (data: unknown, extra: Record<string, unknown> = {}) => ({
  request_id: randomUUID(),
  lease_id: '',
  renewable: false,
  lease_duration: 0,
  data,
  wrap_info: null,
  warnings: null,
  auth: null,
  mount_type: 'kv',
  ...extra,
});

export const versionMetadata = (v: VersionState, version: number) => ({
  created_time: v.createdTime,
  custom_metadata: null,
  deletion_time: v.deletionTime,
  destroyed: v.destroyed,
  version,
});

const isRoot = (state: TokenState) => state.policyPrefixes === undefined;
const policiesOf = (state: TokenState) => (isRoot(state) ? ['root'] : ['default', 'latchkey-test']);

/** The answer of a login or a renewal: no data, an `auth` block. */
export function authResponse(token: string, state: TokenState, extra: Record<string, unknown> = {}) {
  const policies = policiesOf(state);
  return {
    ...envelope(null),
    mount_type: '',
    auth: {
      client_token: token,
      accessor: state.accessor,
      policies,
      token_policies: policies,
      metadata: null,
      lease_duration: state.ttlSeconds,
      renewable: !isRoot(state),
      entity_id: '',
      token_type: 'service',
      orphan: true,
      mfa_requirement: null,
      num_uses: 0,
      ...extra,
    },
  };
}

/** The answer of `auth/token/lookup-self`. */
export function lookupSelfResponse(token: string, state: TokenState) {
  const root = isRoot(state);
  return {
    ...envelope({
      accessor: state.accessor,
      creation_time: state.creationTime,
      creation_ttl: state.ttlSeconds,
      display_name: root ? 'root' : `token-${state.displayName}`,
      entity_id: '',
      expire_time: state.expiresAt === undefined ? null : new Date(state.expiresAt).toISOString(),
      explicit_max_ttl: 0,
      id: token,
      issue_time: new Date(state.creationTime * 1000).toISOString(),
      meta: null,
      num_uses: 0,
      orphan: true,
      path: state.path,
      policies: policiesOf(state),
      renewable: !root,
      ttl: state.expiresAt === undefined ? 0 : Math.max(0, Math.floor((state.expiresAt - Date.now()) / 1000)),
      type: 'service',
    }),
    mount_type: 'token',
  };
}
