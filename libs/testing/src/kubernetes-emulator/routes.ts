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
import { table, wantsTable } from './tables.js';

export interface Route extends RequestTarget {
  resource: ResourceName | undefined;
  /** `log` for /api/v1/namespaces/NS/pods/NAME/log. */
  subresource?: 'log';
  /** /api/v1/namespaces[/NAME]: the Namespace objects themselves (`name` is the Namespace's). */
  namespaces?: true;
  /** /api/v1[/namespaces/NS]/events: what `kubectl describe` reads (the emulator records none). */
  events?: true;
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
  if (decoded[2] === 'namespaces' && decoded.length <= 4) {
    return { resource: undefined, namespace: undefined, name: decoded[3], namespaces: true, unknown: false };
  }
  const eventsIn = decoded.length === 3 ? decoded[2] : decoded.length === 5 ? decoded[4] : undefined;
  if (eventsIn === 'events' && (decoded.length === 3 || decoded[2] === 'namespaces')) {
    return { resource: undefined, namespace: decoded[3], name: undefined, events: true, unknown: false };
  }
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
    if (route.namespaces === true) {
      namespaceRoute(store, name, x);
      return;
    }
    if (route.events === true) {
      if (x.method !== 'GET') throw methodNotAllowed();
      send(x, 200, {
        kind: 'EventList',
        apiVersion: 'v1',
        metadata: { resourceVersion: String(store.resourceVersion) },
        items: [],
      });
      return;
    }
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
    const found = store.objectsIn(resource, ns).filter(matches);
    if (wantsTable(x.accept)) {
      send(x, 200, table(resource, found, String(store.resourceVersion), x.query));
      return;
    }
    const items = found.map((o) => {
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
  if (x.method === 'GET') {
    const rv = String(meta(existing).resourceVersion);
    send(x, 200, wantsTable(x.accept) ? table(resource, [clone(existing)], rv, x.query) : clone(existing));
  } else if (x.method === 'DELETE') deleteRoute(store, resource, name, existing, x);
  else {
    const body = objectBody(x, RESOURCES[resource].kind);
    checkIdentity(body, resource, ns, name);
    send(x, 200, store.update(resource, ns, name, clone(body), existing, x.dryRun));
  }
}

/** GET/POST /api/v1/namespaces, GET/DELETE /api/v1/namespaces/NAME. */
function namespaceRoute(store: KubeStore, name: string | undefined, x: Exchange): void {
  if (name === undefined) {
    if (x.method === 'GET') {
      const items = store.namespaceList().map((o) => {
        const { kind: _k, apiVersion: _a, ...item } = o;
        return item;
      });
      send(x, 200, {
        kind: 'NamespaceList',
        apiVersion: 'v1',
        metadata: { resourceVersion: String(store.resourceVersion) },
        items,
      });
    } else if (x.method === 'POST') send(x, 201, store.createNamespace(objectBody(x, 'Namespace'), x.dryRun));
    else throw methodNotAllowed();
    return;
  }
  const existing = store.namespace(name);
  if (x.method !== 'GET' && x.method !== 'DELETE') throw methodNotAllowed();
  if (existing === undefined) throw notFound('namespaces', name);
  send(x, 200, x.method === 'GET' ? clone(existing) : store.removeNamespace(name));
}

/** DELETE with optional DeleteOptions (preconditions, propagationPolicy Orphan, gracePeriodSeconds). */
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
  const graceText = x.query.get('gracePeriodSeconds');
  const grace =
    typeof options.gracePeriodSeconds === 'number'
      ? options.gracePeriodSeconds
      : graceText !== null && /^\d+$/.test(graceText)
        ? Number(graceText)
        : undefined;
  const request = { orphan, ...(grace === undefined ? {} : { gracePeriodSeconds: grace }) };
  const gone = x.dryRun ? clone(existing) : store.remove(resource, existing, request);
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
