/** PATCH of an object: merge, strategic merge (as merge), JSON patch and server-side apply (JSON bodies). */
import type { Exchange } from './exchange.js';
import { jsonPatch, mergePatch } from './patch.js';
import type { ResourceName } from './resources.js';
import { HttpError, type Json, type JsonObject, clone, fail, isObject, meta, notFound, parseJson } from './status.js';
import { checkIdentity, type KubeStore } from './store.js';

interface Patched {
  status: number;
  body: JsonObject;
}

export function patchRoute(store: KubeStore, resource: ResourceName, ns: string, name: string, x: Exchange): Patched {
  const existing = store.get(resource, ns, name);
  const type = x.contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/apply-patch+yaml') return applyRoute(store, resource, ns, name, existing, x);
  if (existing === undefined) throw notFound(resource, name);
  const body = parseJson(x.text, 'error decoding patch');
  let next: JsonObject;
  if (type === 'application/merge-patch+json' || type === 'application/strategic-merge-patch+json') {
    if (!isObject(body)) throw fail(400, 'BadRequest', 'a merge patch must be a JSON object');
    next = mergePatch(clone(existing), body) as JsonObject;
  } else if (type === 'application/json-patch+json') {
    next = applyJsonPatch(existing, body);
  } else {
    throw fail(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
    );
  }
  checkIdentity(next, resource, ns, name);
  return { status: 200, body: store.update(resource, ns, name, next, existing, x.dryRun) };
}

function applyJsonPatch(existing: JsonObject, body: Json): JsonObject {
  try {
    const patched = jsonPatch(clone(existing), body);
    if (!isObject(patched)) throw new Error('the patched document is not an object');
    return patched;
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw fail(422, 'Invalid', err instanceof Error ? err.message : 'the json patch does not apply');
  }
}

/** Server-side apply: creates a missing object, merges into an existing one; needs `fieldManager`. */
function applyRoute(
  store: KubeStore,
  resource: ResourceName,
  ns: string,
  name: string,
  existing: JsonObject | undefined,
  x: Exchange,
): Patched {
  if (!x.query.get('fieldManager')) {
    throw fail(
      422,
      'Invalid',
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
      {
        group: 'meta.k8s.io',
        kind: 'PatchOptions',
        causes: [
          {
            reason: 'FieldValueRequired',
            message: 'Required value: is required for apply patch',
            field: 'fieldManager',
          },
        ],
      },
    );
  }
  const body = parseJson(x.text, 'error decoding YAML (the emulator accepts apply patches written as JSON)');
  if (!isObject(body)) throw fail(400, 'BadRequest', 'an apply patch must be an object');
  if (existing === undefined) {
    const created = store.create(resource, ns, { ...body, metadata: { ...meta(body), name } }, x.dryRun);
    return { status: 201, body: created };
  }
  checkIdentity(body, resource, ns, name);
  const next = mergePatch(clone(existing), body) as JsonObject;
  return { status: 200, body: store.update(resource, ns, name, next, existing, x.dryRun) };
}
