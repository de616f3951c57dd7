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
 * What a real API server refuses, it refuses: creating in a namespace that
 * does not exist is 404 (Namespaces are created with POST /api/v1/namespaces,
 * the `namespaces` option or `createNamespace`); namespace names that are not
 * DNS-1123 labels, bad label keys and values, annotations over 256 KiB and
 * Secrets over 1 MiB are 422 Invalid with causes; a body over 3 MiB is 413.
 * Deleting a scheduled Pod (one moved past Pending) keeps it Terminating
 * (`deletionTimestamp`, `deletionGracePeriodSeconds`) for DeleteOptions'
 * `gracePeriodSeconds`, else its `terminationGracePeriodSeconds` (default
 * 30), or until a test sets it Succeeded/Failed; an unscheduled or finished
 * Pod goes at once. What an object owns is garbage-collected `gcDelayMs`
 * after the owner is gone. Discovery (`/version`, `/api`, `/api/v1`, `/apis`,
 * OpenAPI v3 enough for server-side field validation), Tables and an empty
 * event list serve `kubectl get/describe/logs/create/delete`; with `tls` the
 * emulator serves HTTPS (kubectl sends a token only over TLS).
 *
 * Deliberate simplifications: strategic-merge-patch behaves as merge-patch
 * (true for Secrets, close enough for Pods); server-side apply accepts JSON
 * bodies only and merges them; `fieldValidation=Strict` is not enforced
 * (unknown fields are kept); a deleted Namespace takes its objects at once;
 * no events are recorded.
 *
 * Layout (kubernetes-emulator/): `store.ts` the state (objects,
 * resourceVersions, watches, Pod output), `resources.ts` what differs between
 * Secrets and Pods (defaults, validation), `routes.ts`, `patch-route.ts` and
 * `streams.ts` the route families, `status.ts` the Status bodies,
 * `discovery.ts` and `tables.ts` what kubectl reads, `selectors.ts` and `patch.ts` the pure pieces, `server.ts` the HTTP server
 * and test handle, `k3s.ts` a real cluster for the same suites.
 */
export { startKubernetesEmulator } from './kubernetes-emulator/server.js';
export { startTestK3s, k3sSkipReason } from './kubernetes-emulator/k3s.js';
export type { TestK3s } from './kubernetes-emulator/k3s.js';
export type * from './kubernetes-emulator/types.js';
