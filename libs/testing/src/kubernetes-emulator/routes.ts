/**
 * The Kubernetes emulator's routes: the path to a resource, then one handler
 * per route family (a collection: list, watch, create; an object: get,
 * replace, patch, delete; a Pod's log), each parsing the request, calling the
 * store and answering the API server's shapes.
 */
import { type Exchange, send } from './exchange.js';
import { patchRoute } from './patch-route.js';
import { RESOURCES, type ResourceName } from './resources.js';
import { parseFieldSelector, parseLabelSelector, type Selector } from './selectors.js';
import {
  HttpError,
  type JsonObject,
  type RequestTarget,
  clone,
  conflict,
  fail,
  isObject,
  meta,
  notFound,
  parseJson,
  statusBody,
} from './status.js';
import { checkIdentity, type KubeStore } from './store.js';
import { podLogRoute, watchRoute } from './streams.js';

export interface Route extends RequestTarget {
  resource: ResourceName | undefined;
  /** `log` for /api/v1/namespaces/NS/pods/NAME/log. */
  subresource?: 'log';
  /** Set when the path is not one the emulator serves. */
  unknown: boolean;
}

const isResource = (r: string | undefined): r is ResourceName => r === 'secrets' || r === 'pods';

export function parseRoute(path: string): Route {
  const parts = path.split('/').filter((p) => p !== '');
  const none: Route = { resource: undefined, namespace: undefined, name: undefined, unknown: true };
  if (parts[0] !== 'api' || parts[1] !== 'v1') return none;
  const decoded = parts.map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  if (decoded.length === 3 && isResource(decoded[2])) {
    return { resource: decoded[2], namespace: undefined, name: undefined, unknown: false };
  }
  if (decoded[2] === 'namespaces' && decoded[3] !== undefined && isResource(decoded[4])) {
    if (decoded.length === 5) return { resource: decoded[4], namespace: decoded[3], name: undefined, unknown: false };
    if (decoded.length === 6) return { resource: decoded[4], namespace: decoded[3], name: decoded[5], unknown: false };
    if (decoded.length === 7 && decoded[4] === 'pods' && decoded[6] === 'log') {
      return { resource: 'pods', namespace: decoded[3], name: decoded[5], subresource: 'log', unknown: false };
    }
  }
  return none;
}

const resourceNotFound = () => fail(404, 'NotFound', 'the server could not find the requested resource', {});
const methodNotAllowed = () =>
  fail(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});

/** Answers an authenticated request; every failure becomes a Status body. */
export function serve(store: KubeStore, route: Route, x: Exchange): void {
  try {
    const { resource, namespace: ns, name } = route;
    if (route.unknown || resource === undefined) throw resourceNotFound();
    if (name === undefined) collectionRoute(store, resource, ns, x);
    else if (ns === undefined) throw resourceNotFound();
    else if (route.subresource === 'log') {
      if (x.method !== 'GET') throw methodNotAllowed();
      const pod = store.get(resource, ns, name);
      if (pod === undefined) throw notFound(resource, name);
      podLogRoute(store, pod, name, x);
    } else objectRoute(store, resource, ns, name, x);
  } catch (err) {
    if (err instanceof HttpError) send(x, err.status, err.body);
    else send(x, 500, statusBody(500, 'InternalError', `Internal error occurred: ${String(err)}`));
  }
}

/** The request body as an object of `kind`; 400 when it is not one. */
function objectBody(x: Exchange, kind: string): JsonObject {
  const body = parseJson(x.text, `${kind} in version "v1" cannot be handled as a ${kind}`);
  if (!isObject(body)) throw fail(400, 'BadRequest', `${kind} in version "v1" cannot be handled as a ${kind}`);
  return body;
}

function selectorOf(query: URLSearchParams): Selector {
  const labels = parseLabelSelector(query.get('labelSelector') ?? undefined);
  const fields = parseFieldSelector(query.get('fieldSelector') ?? undefined);
  return (o) => labels(o) && fields(o);
}

function collectionRoute(store: KubeStore, resource: ResourceName, ns: string | undefined, x: Exchange): void {
  const def = RESOURCES[resource];
  if (x.method === 'GET') {
    const matches = selectorOf(x.query);
    const watch = x.query.get('watch');
    if (watch === 'true' || watch === '1') {
      watchRoute(store, resource, ns, matches, x);
      return;
    }
    const items = store
      .objectsIn(resource, ns)
      .filter(matches)
      .map((o) => {
        // A typed list's items carry no kind/apiVersion on the wire.
        const { kind: _k, apiVersion: _a, ...item } = o;
        return item;
      });
    send(x, 200, {
      kind: def.listKind,
      apiVersion: 'v1',
      metadata: { resourceVersion: String(store.resourceVersion) },
      items,
    });
    return;
  }
  if (x.method === 'POST' && ns !== undefined) {
    send(x, 201, store.create(resource, ns, objectBody(x, def.kind), x.dryRun));
    return;
  }
  throw methodNotAllowed();
}

function objectRoute(store: KubeStore, resource: ResourceName, ns: string, name: string, x: Exchange): void {
  const existing = store.get(resource, ns, name);
  if (x.method === 'PATCH') {
    const out = patchRoute(store, resource, ns, name, x);
    send(x, out.status, out.body);
    return;
  }
  if (x.method !== 'GET' && x.method !== 'PUT' && x.method !== 'DELETE') throw methodNotAllowed();
  if (existing === undefined) throw notFound(resource, name);
  if (x.method === 'GET') send(x, 200, clone(existing));
  else if (x.method === 'DELETE') deleteRoute(store, resource, name, existing, x);
  else {
    const body = objectBody(x, RESOURCES[resource].kind);
    checkIdentity(body, resource, ns, name);
    send(x, 200, store.update(resource, ns, name, clone(body), existing, x.dryRun));
  }
}

/** DELETE with optional DeleteOptions (preconditions, propagationPolicy Orphan). */
function deleteRoute(store: KubeStore, resource: ResourceName, name: string, existing: JsonObject, x: Exchange): void {
  const opts = x.text.trim() === '' ? {} : parseJson(x.text, 'DeleteOptions');
  const options = isObject(opts) ? opts : {};
  const pre = isObject(options.preconditions) ? options.preconditions : {};
  const uid = String(meta(existing).uid);
  if (typeof pre.resourceVersion === 'string' && pre.resourceVersion !== meta(existing).resourceVersion) {
    throw conflict(resource, name);
  }
  if (typeof pre.uid === 'string' && pre.uid !== meta(existing).uid) {
    throw fail(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${resource} "${name}": Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${uid}`,
      { name, kind: resource },
    );
  }
  const orphan = options.propagationPolicy === 'Orphan' || x.query.get('propagationPolicy') === 'Orphan';
  const gone = x.dryRun ? clone(existing) : store.remove(resource, existing, orphan);
  if (RESOURCES[resource].deleteReturnsObject) {
    send(x, 200, gone);
    return;
  }
  send(x, 200, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { name, kind: resource, uid },
  });
}
