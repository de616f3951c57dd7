/**
 * The Kubernetes emulator's state: objects by resource, namespace and name,
 * the resourceVersion counter, the event history and open watches, and Pod
 * output with its followers. Creation, update and deletion (with garbage
 * collection of owned objects) live here; HTTP does not.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import {
  EMULATED_NODE,
  RESOURCES,
  type ResourceName,
  podGracePeriod,
  validateMetadata,
  validateNamespaceName,
} from './resources.js';
import { type JsonObject, clone, conflict, fail, invalid, isObject, kubeTimestamp, meta, notFound } from './status.js';

export interface WatchEvent {
  resource: ResourceName;
  namespace: string;
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: JsonObject;
}

/** An open watch: which events it wants and where they go. */
export interface Watcher {
  resource: ResourceName;
  namespace: string | undefined;
  matches: (obj: JsonObject) => boolean;
  deliver(ev: WatchEvent): void;
  close(): void;
}

/** Where a followed Pod log goes (a streaming response). */
export interface LogFollower {
  write(text: string): unknown;
  end(): unknown;
}

export interface PodLog {
  text: string;
  followers: Set<LogFollower>;
}

/** What a DELETE asks for (DeleteOptions). */
export interface DeleteRequest {
  /** propagationPolicy Orphan: owned objects stay. */
  orphan: boolean;
  /** DeleteOptions.gracePeriodSeconds; undefined: the Pod's terminationGracePeriodSeconds. */
  gracePeriodSeconds?: number;
}

const keyOf = (resource: ResourceName, ns: string, name: string) => `${resource}/${ns}/${name}`;

/** 400 unless the body's kind, namespace and name agree with the request's. */
export function checkIdentity(body: JsonObject, resource: ResourceName, ns: string, name: string | undefined): void {
  const kind = RESOURCES[resource].kind;
  if (body.kind !== undefined && body.kind !== kind) {
    throw fail(
      400,
      'BadRequest',
      `${kind} in version "v1" cannot be handled as a ${kind}: kind "${String(body.kind)}" does not match`,
    );
  }
  const m = meta(body);
  if (m.namespace !== undefined && m.namespace !== '' && m.namespace !== ns) {
    throw fail(
      400,
      'BadRequest',
      'the namespace of the provided object does not match the namespace sent on the request',
    );
  }
  if (name !== undefined && m.name !== undefined && m.name !== name) {
    throw fail(
      400,
      'BadRequest',
      `the name of the object (${String(m.name)}) does not match the name on the URL (${name})`,
    );
  }
}

export class KubeStore {
  readonly #objects = new Map<string, JsonObject>();
  readonly #history: WatchEvent[] = [];
  readonly #watchers = new Set<Watcher>();
  /** Pod output by Pod uid. */
  readonly #podLogs = new Map<string, PodLog>();
  #resourceVersion = 1000;
  readonly #namespaces = new Map<string, JsonObject>();
  /** Grace-period timers of Terminating objects, by key. */
  readonly #terminations = new Map<string, NodeJS.Timeout>();
  /** Pending garbage collections. */
  readonly #collections = new Set<NodeJS.Timeout>();
  readonly #gcDelayMs: number;

  constructor(opts: { gcDelayMs?: number; namespaces?: string[] } = {}) {
    this.#gcDelayMs = opts.gcDelayMs ?? 50;
    for (const ns of opts.namespaces ?? []) this.createNamespace({ metadata: { name: ns } }, false);
  }

  /** The resourceVersion of the latest write. */
  get resourceVersion(): number {
    return this.#resourceVersion;
  }

  get(resource: ResourceName, ns: string, name: string): JsonObject | undefined {
    return this.#objects.get(keyOf(resource, ns, name));
  }

  /** The stored objects of a resource in a namespace (every namespace when undefined), by name. */
  objectsIn(resource: ResourceName, ns: string | undefined): JsonObject[] {
    return [...this.#objects.entries()]
      .filter(([k]) => k.startsWith(`${resource}/${ns === undefined ? '' : `${ns}/`}`))
      .map(([, v]) => v)
      .sort((a, b) => String(meta(a).name).localeCompare(String(meta(b).name)));
  }

  /** Stores (or, for DELETED, removes) an object under a new resourceVersion and tells the watches. */
  commit(resource: ResourceName, type: WatchEvent['type'], obj: JsonObject): JsonObject {
    this.#resourceVersion += 1;
    const m = meta(obj);
    m.resourceVersion = String(this.#resourceVersion);
    const ns = String(m.namespace);
    const key = keyOf(resource, ns, String(m.name));
    if (type === 'DELETED') this.#objects.delete(key);
    else this.#objects.set(key, obj);
    if (resource === 'pods') this.#endFinishedLog(type, obj);
    this.#notify({ resource, namespace: ns, rv: this.#resourceVersion, type, object: clone(obj) });
    return clone(obj);
  }

  /** A followed log ends when its container is done: the Pod finished or went. */
  #endFinishedLog(type: WatchEvent['type'], pod: JsonObject): void {
    const phase = isObject(pod.status) ? pod.status.phase : undefined;
    if (type !== 'DELETED' && phase !== 'Succeeded' && phase !== 'Failed') return;
    const uid = String(meta(pod).uid);
    const followers = this.#podLogs.get(uid)?.followers;
    for (const f of followers ?? []) f.end();
    followers?.clear();
    if (type === 'DELETED') this.#podLogs.delete(uid);
  }

  #notify(ev: WatchEvent): void {
    this.#history.push(ev);
    for (const w of this.#watchers) {
      if (w.resource !== ev.resource) continue;
      if (w.namespace !== undefined && w.namespace !== ev.namespace) continue;
      if (!w.matches(ev.object)) continue;
      w.deliver(ev);
    }
  }

  /** Normalizes, validates and stores a new object; 409 AlreadyExists when the name is taken. */
  create(resource: ResourceName, ns: string, body: JsonObject, dryRun: boolean): JsonObject {
    const def = RESOURCES[resource];
    checkIdentity(body, resource, ns, undefined);
    const namespace = this.#namespaces.get(ns);
    if (namespace === undefined) throw notFound('namespaces', ns);
    if (meta(namespace).deletionTimestamp !== undefined) {
      throw fail(
        403,
        'Forbidden',
        `${resource} "${String(meta(body).name ?? '')}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
        { name: String(meta(body).name ?? ''), kind: resource },
      );
    }
    const obj = clone(body);
    obj.apiVersion = 'v1';
    obj.kind = def.kind;
    const m = meta(obj);
    if ((m.name === undefined || m.name === '') && typeof m.generateName === 'string' && m.generateName !== '') {
      m.name = `${m.generateName}${randomBytes(4).toString('hex').slice(0, 5)}`;
    }
    m.namespace = ns;
    delete m.resourceVersion;
    delete m.deletionTimestamp;
    delete m.deletionGracePeriodSeconds;
    def.normalize(obj);
    const causes = def.validate(obj, undefined);
    const name = typeof m.name === 'string' ? m.name : '';
    if (causes.length > 0) throw invalid(def.kind, name, causes);
    if (this.#objects.has(keyOf(resource, ns, name))) {
      throw fail(409, 'AlreadyExists', `${resource} "${name}" already exists`, { name, kind: resource });
    }
    m.uid = randomUUID();
    m.creationTimestamp = kubeTimestamp();
    // Keep metadata's usual field order: name, namespace, uid, resourceVersion, creationTimestamp, then the rest.
    const { name: _n, namespace: _ns, uid, creationTimestamp, ...rest } = m;
    obj.metadata = { name, namespace: ns, uid, resourceVersion: '', creationTimestamp, ...rest };
    if (dryRun) return obj;
    return this.commit(resource, 'ADDED', obj);
  }

  /** Normalizes, validates and stores the new state of an existing object (PUT and PATCH). */
  update(
    resource: ResourceName,
    ns: string,
    name: string,
    next: JsonObject,
    old: JsonObject,
    dryRun: boolean,
  ): JsonObject {
    const def = RESOURCES[resource];
    const m = meta(next);
    const rv = m.resourceVersion;
    if (rv !== undefined && rv !== null && rv !== '' && rv !== meta(old).resourceVersion) {
      throw conflict(resource, name);
    }
    next.apiVersion = 'v1';
    next.kind = def.kind;
    const oldMeta = meta(old);
    m.name = name;
    m.namespace = ns;
    m.uid = oldMeta.uid ?? null;
    m.creationTimestamp = oldMeta.creationTimestamp ?? null;
    m.resourceVersion = oldMeta.resourceVersion ?? null;
    def.normalize(next);
    const causes = def.validate(next, old);
    if (causes.length > 0) throw invalid(def.kind, name, causes);
    if (dryRun || isDeepStrictEqual(next, old)) return clone(dryRun ? next : old);
    return this.commit(resource, 'MODIFIED', next);
  }

  /**
   * Deletes an object as the API server does. A Secret (or an unscheduled or
   * finished Pod) goes at once; a scheduled Pod is marked Terminating
   * (`deletionTimestamp` = now + its grace period, `deletionGracePeriodSeconds`)
   * and goes when the grace period ends or its container stops (a terminal
   * phase). A second delete may only shorten the grace period. Unless
   * orphaning, the objects it owns are collected after it is gone, a moment
   * later (`gcDelayMs`), as the garbage collector does.
   */
  remove(resource: ResourceName, obj: JsonObject, opts: DeleteRequest): JsonObject {
    const m = meta(obj);
    const key = keyOf(resource, String(m.namespace), String(m.name));
    const grace = resource === 'pods' ? podGracePeriod(obj, opts.gracePeriodSeconds) : 0;
    if (grace > 0) {
      const current = m.deletionGracePeriodSeconds;
      if (typeof current === 'number' && current <= grace) return clone(obj);
      const next = clone(obj);
      const nm = meta(next);
      nm.deletionTimestamp = kubeTimestamp(new Date(Date.now() + grace * 1000));
      nm.deletionGracePeriodSeconds = grace;
      clearTimeout(this.#terminations.get(key));
      const timer = setTimeout(() => this.#finishDeletion(resource, key, opts.orphan), grace * 1000);
      timer.unref();
      this.#terminations.set(key, timer);
      return this.commit(resource, 'MODIFIED', next);
    }
    return this.#gone(resource, key, obj, opts.orphan);
  }

  /** The grace period of a Terminating object ended (or its container stopped): it goes now. */
  #finishDeletion(resource: ResourceName, key: string, orphan: boolean): void {
    const obj = this.#objects.get(key);
    if (obj !== undefined) this.#gone(resource, key, obj, orphan);
  }

  #gone(resource: ResourceName, key: string, obj: JsonObject, orphan: boolean): JsonObject {
    clearTimeout(this.#terminations.get(key));
    this.#terminations.delete(key);
    const m = meta(obj);
    if (m.deletionTimestamp === undefined) m.deletionTimestamp = kubeTimestamp();
    if (resource === 'pods' && m.deletionGracePeriodSeconds === undefined) m.deletionGracePeriodSeconds = 0;
    const gone = this.commit(resource, 'DELETED', obj);
    if (!orphan) {
      const timer = setTimeout(() => {
        this.#collections.delete(timer);
        this.#collect(String(m.namespace), String(m.uid));
      }, this.#gcDelayMs);
      timer.unref();
      this.#collections.add(timer);
    }
    return gone;
  }

  /** The garbage collector: deletes every object in `ns` that names the vanished `ownerUid` as an owner. */
  #collect(ns: string, ownerUid: string): void {
    for (const r of Object.keys(RESOURCES) as ResourceName[]) {
      for (const dep of this.objectsIn(r, ns)) {
        const refs = meta(dep).ownerReferences;
        const owned = Array.isArray(refs) && refs.some((ref) => isObject(ref) && ref.uid === ownerUid);
        if (owned && meta(dep).deletionTimestamp === undefined) this.remove(r, dep, { orphan: false });
      }
    }
  }

  /** Namespaces by name. */
  namespace(name: string): JsonObject | undefined {
    return this.#namespaces.get(name);
  }

  namespaceList(): JsonObject[] {
    return [...this.#namespaces.values()].sort((a, b) => String(meta(a).name).localeCompare(String(meta(b).name)));
  }

  /** Creates a Namespace (422 for a name that is not a DNS-1123 label, 409 when it exists). */
  createNamespace(body: JsonObject, dryRun: boolean): JsonObject {
    const obj = clone(body);
    obj.apiVersion = 'v1';
    obj.kind = 'Namespace';
    const m = meta(obj);
    const name = typeof m.name === 'string' ? m.name : '';
    const causes = validateNamespaceName(name).concat(validateMetadata(obj));
    if (causes.length > 0) throw invalid('Namespace', name, causes);
    if (this.#namespaces.has(name)) {
      throw fail(409, 'AlreadyExists', `namespaces "${name}" already exists`, { name, kind: 'namespaces' });
    }
    const { name: _n, namespace: _ns, resourceVersion: _rv, ...rest } = m;
    this.#resourceVersion += 1;
    obj.metadata = {
      name,
      uid: randomUUID(),
      resourceVersion: String(this.#resourceVersion),
      creationTimestamp: kubeTimestamp(),
      ...rest,
      labels: { ...(isObject(rest.labels) ? rest.labels : {}), 'kubernetes.io/metadata.name': name },
    };
    obj.spec = { finalizers: ['kubernetes'] };
    obj.status = { phase: 'Active' };
    if (!dryRun) this.#namespaces.set(name, obj);
    return clone(obj);
  }

  /** Deletes a Namespace and everything in it (at once: the emulator has no namespace controller delay). */
  removeNamespace(name: string): JsonObject {
    const ns = this.#namespaces.get(name);
    if (ns === undefined) throw notFound('namespaces', name);
    const terminating = clone(ns);
    terminating.status = { phase: 'Terminating' };
    meta(terminating).deletionTimestamp = kubeTimestamp();
    for (const r of Object.keys(RESOURCES) as ResourceName[]) {
      for (const obj of this.objectsIn(r, name)) this.#gone(r, keyOf(r, name, String(meta(obj).name)), obj, true);
    }
    this.#namespaces.delete(name);
    return terminating;
  }

  /** The events after resourceVersion `since` for a watch of `resource` in `ns`. */
  eventsSince(since: number, resource: ResourceName, ns: string | undefined): WatchEvent[] {
    return this.#history.filter(
      (ev) => ev.rv > since && ev.resource === resource && (ns === undefined || ev.namespace === ns),
    );
  }

  /** Opens a watch; the returned function closes it. */
  watch(w: Watcher): () => void {
    this.#watchers.add(w);
    return () => this.#watchers.delete(w);
  }

  podLog(uid: string): PodLog {
    let l = this.#podLogs.get(uid);
    if (l === undefined) {
      l = { text: '', followers: new Set() };
      this.#podLogs.set(uid, l);
    }
    return l;
  }

  /** Test control: sets a Pod's `status.phase` (a write: new resourceVersion, MODIFIED event). */
  setPodPhase(ns: string, name: string, phase: string): void {
    const next = clone(this.#requirePod(ns, name));
    next.status = { ...(isObject(next.status) ? next.status : {}), phase };
    // Past Pending, the scheduler has bound the Pod to a node (so its deletion is graceful).
    const spec = isObject(next.spec) ? next.spec : {};
    if (phase !== 'Pending' && typeof spec.nodeName !== 'string') next.spec = { ...spec, nodeName: EMULATED_NODE };
    this.commit('pods', 'MODIFIED', next);
    // A Terminating Pod whose container stopped is removed by the kubelet at once.
    if (meta(next).deletionTimestamp !== undefined && (phase === 'Succeeded' || phase === 'Failed')) {
      this.#finishDeletion('pods', keyOf('pods', ns, name), false);
    }
  }

  /** Test control: what the running Pod's container wrote; followers get it at once. */
  appendPodLog(ns: string, name: string, text: string): void {
    const pod = this.#requirePod(ns, name);
    const phase = isObject(pod.status) ? pod.status.phase : undefined;
    if (phase !== 'Running') throw new Error(`pod ${name} is ${String(phase)}: only a Running container writes output`);
    const out = this.podLog(String(meta(pod).uid));
    out.text += text;
    for (const f of out.followers) f.write(text);
  }

  #requirePod(ns: string, name: string): JsonObject {
    const pod = this.get('pods', ns, name);
    if (pod === undefined) throw new Error(`pods "${name}" not found in namespace ${ns}`);
    return pod;
  }

  /** Ends every open watch and followed log (the server is stopping). */
  closeStreams(): void {
    for (const t of this.#terminations.values()) clearTimeout(t);
    for (const t of this.#collections) clearTimeout(t);
    for (const w of this.#watchers) w.close();
    this.#watchers.clear();
    for (const l of this.#podLogs.values()) for (const f of l.followers) f.end();
  }
}
