/**
 * A Kubernetes API server emulator for exactly the core/v1 subset Latchkey
 * uses: Secrets (create, get, replace, patch, delete, list, watch) and Pods
 * (the same verbs, a phase that tests set, and garbage collection of the
 * objects a Pod owns). Shapes follow shared/reference/wire-facts.md: Status
 * bodies on failure, resourceVersion conflicts, 422 validation with causes,
 * `stringData` merged into `data` and never returned.
 *
 * Pods also serve their `log` subresource (GET, `container` and `follow`):
 * the output is what tests append with `appendPodLog`, refused while the
 * Pod is Pending, and a followed log ends when the Pod finishes or goes.
 *
 * Deliberate simplifications: every namespace exists; strategic-merge-patch
 * behaves as merge-patch (true for Secrets, close enough for Pods);
 * server-side apply accepts JSON bodies only and merges them; Pod deletion is
 * immediate (no grace period) and garbage collection is synchronous.
 *
 * Layout (kubernetes-emulator/): `store.ts` the state (objects,
 * resourceVersions, watches, Pod output), `resources.ts` what differs between
 * Secrets and Pods (defaults, validation), `routes.ts`, `patch-route.ts` and
 * `streams.ts` the route families, `status.ts` the Status bodies,
 * `selectors.ts` and `patch.ts` the pure pieces, `server.ts` the HTTP server
 * and test handle, `k3s.ts` a real cluster for the same suites.
 */
export { startKubernetesEmulator } from './kubernetes-emulator/server.js';
export { startTestK3s, k3sSkipReason } from './kubernetes-emulator/k3s.js';
export type { TestK3s } from './kubernetes-emulator/k3s.js';
export type * from './kubernetes-emulator/types.js';
