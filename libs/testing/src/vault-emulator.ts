/**
 * A small HashiCorp Vault emulator for tests: exactly the API subset Latchkey
 * uses, with the shapes of shared/reference/wire-facts.md.
 *
 * - KV v2: read (`?version=N`, soft-deleted and destroyed shapes), write
 *   (POST/PUT `data/<p>` with `{"data": {...}, "options": {"cas": N}}`),
 *   soft delete of the latest version (DELETE `data/<p>`), `delete/<p>` and
 *   `destroy/<p>` of listed versions, metadata read, list (`GET ?list=true|1|t`,
 *   or LIST where node's parser lets it through), DELETE `metadata/<p>`.
 *   At most 10 versions are kept, like Vault's default `max_versions`.
 * - KV v1 mounts (`kv1Mounts`, `mount(name, {version: 1})`, or POST
 *   `sys/mounts/<p>` `{"type": "kv"}`): fields at the path itself, no
 *   versions; a KV v2 path on them (`<mount>/data/<p>`) finds nothing.
 * - `sys/mounts` (list, enable, disable), `sys/seal-status` (unauthenticated,
 *   also while sealed), and `sys/internal/ui/mounts/<path>`, the preflight
 *   Vault's CLI reads a mount's KV version from (`options.version`); a
 *   missing mount and one the token cannot reach both answer 403.
 * - Database secrets engine (`addDatabaseRole`): `GET <mount>/creds/<role>`
 *   issues a fresh username/password with a renewable lease; leases are
 *   renewed, revoked and looked up with `sys/leases/renew|revoke|lookup`
 *   (policy-checked on those paths), capped at the role's max TTL, and expire
 *   by the emulator's clock (`advanceClock`). `leases()` shows them to tests.
 * - Token: `auth/token/lookup-self`, `auth/token/renew-self`.
 * - AppRole: `auth/<mount>/login` with role/secret ID pairs set up by
 *   `addAppRole` (any namespace).
 * - Namespaces: `X-Vault-Namespace: ns1/ns2` and/or a path prefix
 *   `/v1/ns1/...`. A namespace exists once a mount was created in it.
 * - Policies: each token carries allowed path prefixes, matched against the
 *   path after `/v1/` with the namespace included (`ns1/secret/data/app/`).
 *   For list operations the path is checked with a trailing `/`, as Vault does.
 *   The root token may do anything. The prefix `''` allows every path.
 * - Errors: bad/missing/expired token 403 `permission denied`; denied by policy
 *   403 `1 error occurred:\n\t* permission denied\n\n`; missing mount 404
 *   `no handler for route ...` once the policy allows the path (so root gets
 *   404 and ordinary tokens 403); LIST on `data/` 405; sealed 503.
 * - Test controls: seal switch, latency and failure injection, path faults
 *   (`injectFault`), and a request log that never holds a token value or a body.
 * - https (`tls: true`, `tls-material.ts`): a certificate for 127.0.0.1 and
 *   localhost from a fresh CA (`ca`), swapped on demand for an untrusted,
 *   wrong-host or expired one (`presentBadCertificate`).
 *
 * Layout (vault-emulator/): `store.ts` the state (mounts, versions, tokens,
 * AppRoles), `database-engine.ts` database roles and leases (`lease-routes.ts` their routes), `routes.ts` one handler per route family (`kv1-routes.ts` KV v1, `sys-routes.ts` `sys/`), `router.ts` from a
 * request to a route, `server.ts` the HTTP server and the test handle,
 * `container.ts` the same handle over a real Vault container.
 */
export { startVaultEmulator } from './vault-emulator/server.js';
export { startVaultContainer, vaultContainerAvailability } from './vault-emulator/container.js';
export type * from './vault-emulator/types.js';
