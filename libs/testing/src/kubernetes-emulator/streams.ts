/** The two streaming routes: `?watch=true` on a collection and a Pod's `log` subresource. */
import type { Exchange } from './exchange.js';
import type { ResourceName } from './resources.js';
import type { Selector } from './selectors.js';
import { type JsonObject, fail, isObject, meta, statusBody } from './status.js';
import type { KubeStore } from './store.js';

/**
 * A watch: the current objects as ADDED (or, from a resourceVersion, the
 * events after it), then every matching event as a JSON line until the
 * client goes, `timeoutSeconds` pass or the emulator stops.
 */
export function watchRoute(
  store: KubeStore,
  resource: ResourceName,
  ns: string | undefined,
  matches: Selector,
  x: Exchange,
): void {
  const { res, query } = x;
  x.entry.status = 200;
  res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();
  const from = query.get('resourceVersion');
  const line = (type: string, object: JsonObject) => res.write(`${JSON.stringify({ type, object })}\n`);
  if (from === null || from === '' || from === '0') {
    for (const obj of store.objectsIn(resource, ns)) if (matches(obj)) line('ADDED', obj);
  } else {
    const since = Number(from);
    if (!Number.isFinite(since)) {
      line('ERROR', statusBody(410, 'Expired', `too old resource version: ${from} (${store.resourceVersion})`));
      res.end();
      return;
    }
    for (const ev of store.eventsSince(since, resource, ns)) if (matches(ev.object)) line(ev.type, ev.object);
  }
  const unwatch = store.watch({
    resource,
    namespace: ns,
    matches,
    deliver: (ev) => line(ev.type, ev.object),
    close: () => res.end(),
  });
  const timeout = Number(query.get('timeoutSeconds') ?? '0');
  const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
  timer?.unref();
  const done = () => {
    unwatch();
    if (timer !== undefined) clearTimeout(timer);
  };
  res.on('close', done);
  res.on('finish', done);
}

/** The container a log request means: `?container=`, or the only one. */
function logContainer(pod: JsonObject, name: string, wanted: string): string {
  const spec = isObject(pod.spec) ? pod.spec : {};
  const containers = (Array.isArray(spec.containers) ? spec.containers : [])
    .map((c) => (isObject(c) && typeof c.name === 'string' ? c.name : ''))
    .filter((c) => c !== '');
  if (wanted === '' && containers.length > 1) {
    throw fail(
      400,
      'BadRequest',
      `a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]`,
    );
  }
  const container = wanted === '' ? (containers[0] ?? '') : wanted;
  if (!containers.includes(container)) {
    throw fail(400, 'BadRequest', `container ${container} is not valid for pod ${name}`);
  }
  return container;
}

/** GET pods/NAME/log: the container's output so far, and with follow=true what it writes until it ends. */
export function podLogRoute(store: KubeStore, pod: JsonObject, name: string, x: Exchange): void {
  const { res, query } = x;
  const container = logContainer(pod, name, query.get('container') ?? '');
  const phase = isObject(pod.status) ? pod.status.phase : undefined;
  if (phase === undefined || phase === 'Pending') {
    throw fail(400, 'BadRequest', `container "${container}" in pod "${name}" is waiting to start: ContainerCreating`);
  }
  const out = store.podLog(String(meta(pod).uid));
  x.entry.status = 200;
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.write(out.text);
  const follow = query.get('follow') === 'true' || query.get('follow') === '1';
  if (!follow || phase === 'Succeeded' || phase === 'Failed') {
    res.end();
    return;
  }
  out.followers.add(res);
  res.on('close', () => out.followers.delete(res));
}
