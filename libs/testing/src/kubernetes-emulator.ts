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
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import type { KubeConfig } from '@kubernetes/client-node';

export interface KubernetesEmulatorOptions {
  /** The bearer token the emulator accepts. Default: a random one. */
  token?: string;
}

export interface KubernetesRequestLogEntry {
  method: string;
  path: string;
  query: Record<string, string>;
  /** The HTTP status answered (0 for an injected connection reset); undefined while in flight. */
  status?: number;
}

export interface KubernetesOwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface KubernetesObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
  generateName?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: KubernetesOwnerReference[];
  deletionTimestamp?: string;
  [field: string]: unknown;
}

/** An object as the emulator stores it (and as `secrets()` / `pods()` return copies of it). */
export interface KubernetesObject {
  apiVersion: string;
  kind: string;
  metadata: KubernetesObjectMeta;
  [field: string]: unknown;
}

export interface KubernetesEmulator {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly token: string;
  /** A client-node KubeConfig pointing at the emulator with the token. */
  kubeConfig(): KubeConfig;
  /** Delays every later response by `ms` (0 turns it off). */
  setLatency(ms: number): void;
  /**
   * The next `n` requests are answered with `status` and a matching Status
   * body before any other handling; status 0 resets the connection instead.
   */
  failNext(n: number, status: number): void;
  /** Every request so far, oldest first (copies). Never holds headers or bodies. */
  requests(): KubernetesRequestLogEntry[];
  /** Copies of the Secrets stored in a namespace, by name, with their `data`. */
  secrets(namespace: string): KubernetesObject[];
  /** Copies of the Pods stored in a namespace, by name. */
  pods(namespace: string): KubernetesObject[];
  /** Sets a Pod's `status.phase` (a write: new resourceVersion, MODIFIED event). */
  setPodPhase(namespace: string, name: string, phase: string): void;
  /**
   * Appends what the Pod's (first) container wrote to its log, as the
   * kubelet would collect it; followers of the log receive it at once.
   */
  appendPodLog(namespace: string, name: string, text: string): void;
  /** Closes open watches and the server. */
  stop(): Promise<void>;
}

/** The largest decoded sum of a Secret's `data` values the API server accepts. */
export const KUBERNETES_MAX_SECRET_SIZE = 1_048_576;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type JsonObject = { [k: string]: Json };

type ResourceName = 'secrets' | 'pods';

interface ResourceDef {
  kind: string;
  listKind: string;
  /** Fills defaults and folds write-only fields (stringData) in; may reject with 400. */
  normalize(obj: JsonObject): void;
  /** Validation causes for a create (old undefined) or an update. */
  validate(obj: JsonObject, old: JsonObject | undefined): Cause[];
  /** What DELETE answers: a Status (Secrets) or the object itself (Pods). */
  deleteReturnsObject: boolean;
}

interface Cause {
  reason: string;
  message: string;
  field: string;
}

interface Route {
  resource: ResourceName | undefined;
  namespace: string | undefined;
  name: string | undefined;
  /** `log` for /api/v1/namespaces/NS/pods/NAME/log. */
  subresource?: 'log';
  /** Set when the path is not one the emulator serves. */
  unknown: boolean;
}

interface Watcher {
  resource: ResourceName;
  namespace: string | undefined;
  matches: (obj: JsonObject) => boolean;
  res: ServerResponse;
}

interface WatchEvent {
  resource: ResourceName;
  namespace: string;
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: JsonObject;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: JsonObject,
  ) {
    super(typeof body.message === 'string' ? body.message : `HTTP ${status}`);
  }
}

const CONFLICT_SUFFIX = 'the object has been modified; please apply your changes to the latest version and try again';
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function statusBody(code: number, reason: string, message: string, details?: JsonObject): JsonObject {
  const body: JsonObject = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason };
  if (details !== undefined) body.details = details;
  body.code = code;
  return body;
}

function fail(code: number, reason: string, message: string, details?: JsonObject): HttpError {
  return new HttpError(code, statusBody(code, reason, message, details));
}

const REASONS: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Expired',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

function meta(obj: JsonObject): JsonObject {
  if (!isObject(obj.metadata)) obj.metadata = {};
  return obj.metadata as JsonObject;
}

function kubeTimestamp(d = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function invalid(kind: string, name: string, causes: Cause[]): HttpError {
  const parts = causes.map((c) => `${c.field}: ${c.message}`);
  const summary = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  return fail(422, 'Invalid', `${kind} "${name}" is invalid: ${summary}`, {
    name,
    group: '',
    kind,
    causes: causes.map((c) => ({ reason: c.reason, message: c.message, field: c.field })),
  });
}

function validateName(obj: JsonObject): Cause[] {
  const name = meta(obj).name;
  if (typeof name !== 'string' || name === '') {
    return [
      {
        reason: 'FieldValueRequired',
        message: 'Required value: name or generateName is required',
        field: 'metadata.name',
      },
    ];
  }
  const causes: Cause[] = [];
  if (name.length > 253) {
    causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: "${name}": must be no more than 253 characters`,
      field: 'metadata.name',
    });
  }
  if (!DNS1123_SUBDOMAIN.test(name)) {
    causes.push({
      reason: 'FieldValueInvalid',
      message:
        `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, ` +
        `'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for ` +
        `validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
      field: 'metadata.name',
    });
  }
  return causes;
}

function validateOwnerReferences(obj: JsonObject): Cause[] {
  const refs = meta(obj).ownerReferences;
  if (refs === undefined || refs === null) return [];
  if (!Array.isArray(refs)) {
    return [
      { reason: 'FieldValueInvalid', message: 'Invalid value: must be a list', field: 'metadata.ownerReferences' },
    ];
  }
  const causes: Cause[] = [];
  refs.forEach((ref, i) => {
    for (const f of ['apiVersion', 'kind', 'name', 'uid']) {
      if (!isObject(ref) || typeof ref[f] !== 'string' || ref[f] === '') {
        causes.push({
          reason: 'FieldValueRequired',
          message: 'Required value',
          field: `metadata.ownerReferences[${i}].${f}`,
        });
      }
    }
  });
  return causes;
}

function configKeyErrors(key: string): string[] {
  const errs: string[] = [];
  if (key.length > 253) errs.push('must be no more than 253 characters');
  if (!CONFIG_KEY.test(key)) {
    errs.push(
      "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or " +
        "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
    );
  }
  if (key === '.') errs.push("must not be '.'");
  else if (key === '..') errs.push("must not be '..'");
  else if (key.startsWith('..')) errs.push("must not start with '..'");
  return errs;
}

const secretDef: ResourceDef = {
  kind: 'Secret',
  listKind: 'SecretList',
  deleteReturnsObject: false,
  normalize(obj) {
    const bad = (detail: string) =>
      fail(400, 'BadRequest', `Secret in version "v1" cannot be handled as a Secret: ${detail}`);
    if (obj.type === undefined || obj.type === null || obj.type === '') obj.type = 'Opaque';
    if (typeof obj.type !== 'string')
      throw bad('json: cannot unmarshal into Go struct field Secret.type of type string');
    let data: JsonObject = {};
    if (obj.data !== undefined && obj.data !== null) {
      if (!isObject(obj.data)) throw bad('json: cannot unmarshal into Go struct field Secret.data of type map');
      data = obj.data;
    }
    for (const [k, v] of Object.entries(data)) {
      if (typeof v !== 'string') throw bad(`json: cannot unmarshal into Go struct field Secret.data of type []uint8`);
      if (!BASE64.test(v)) {
        const at = firstBadBase64Byte(v);
        throw bad(`illegal base64 data at input byte ${at}`);
      }
      data[k] = v;
    }
    if (obj.stringData !== undefined && obj.stringData !== null) {
      if (!isObject(obj.stringData)) {
        throw bad('json: cannot unmarshal into Go struct field Secret.stringData of type map');
      }
      for (const [k, v] of Object.entries(obj.stringData)) {
        if (typeof v !== 'string') {
          throw bad('json: cannot unmarshal into Go struct field Secret.stringData of type string');
        }
        data[k] = Buffer.from(v, 'utf8').toString('base64');
      }
    }
    delete obj.stringData;
    if (Object.keys(data).length === 0) delete obj.data;
    else obj.data = data;
    if (obj.immutable === null) delete obj.immutable;
  },
  validate(obj, old) {
    const causes = [...validateName(obj), ...validateOwnerReferences(obj)];
    const data = isObject(obj.data) ? obj.data : {};
    let total = 0;
    for (const [k, v] of Object.entries(data)) {
      for (const e of configKeyErrors(k)) {
        causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: "${k}": ${e}`, field: `data[${k}]` });
      }
      total += Buffer.from(String(v), 'base64').length;
    }
    if (total > KUBERNETES_MAX_SECRET_SIZE) {
      causes.push({
        reason: 'FieldValueTooLong',
        message: `Too long: must have at most ${KUBERNETES_MAX_SECRET_SIZE} bytes`,
        field: 'data',
      });
    }
    if (old !== undefined) {
      if (old.type !== obj.type) {
        causes.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: "${String(obj.type)}": field is immutable`,
          field: 'type',
        });
      }
      if (old.immutable === true) {
        if (obj.immutable !== true) {
          causes.push({
            reason: 'FieldValueForbidden',
            message: 'Forbidden: field is immutable when `immutable` is set',
            field: 'immutable',
          });
        }
        if (!isDeepStrictEqual(old.data ?? {}, obj.data ?? {})) {
          causes.push({
            reason: 'FieldValueForbidden',
            message: 'Forbidden: field is immutable when `immutable` is set',
            field: 'data',
          });
        }
      }
    }
    return causes;
  },
};

const podDef: ResourceDef = {
  kind: 'Pod',
  listKind: 'PodList',
  deleteReturnsObject: true,
  normalize(obj) {
    if (!isObject(obj.spec)) obj.spec = {};
    const status = isObject(obj.status) ? obj.status : {};
    if (typeof status.phase !== 'string') status.phase = 'Pending';
    obj.status = status;
  },
  validate(obj) {
    const causes = [...validateName(obj), ...validateOwnerReferences(obj)];
    const spec = isObject(obj.spec) ? obj.spec : {};
    const containers = spec.containers;
    if (!Array.isArray(containers) || containers.length === 0) {
      causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.containers' });
      return causes;
    }
    containers.forEach((c, i) => {
      const name = isObject(c) ? c.name : undefined;
      if (typeof name !== 'string' || name === '') {
        causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: `spec.containers[${i}].name` });
      } else if (!DNS1123_LABEL.test(name) || name.length > 63) {
        causes.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: "${name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character`,
          field: `spec.containers[${i}].name`,
        });
      }
      const image = isObject(c) ? c.image : undefined;
      if (typeof image !== 'string' || image.trim() === '') {
        causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: `spec.containers[${i}].image` });
      }
    });
    return causes;
  },
};

const RESOURCES: Record<ResourceName, ResourceDef> = { secrets: secretDef, pods: podDef };

function firstBadBase64Byte(v: string): number {
  for (let i = 0; i < v.length; i++) {
    if (!/[A-Za-z0-9+/=]/.test(v.charAt(i))) return i;
  }
  return v.length;
}

function parseRoute(path: string): Route {
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
  const isResource = (r: string | undefined): r is ResourceName => r === 'secrets' || r === 'pods';
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

// ---- selectors -------------------------------------------------------------

type Selector = (obj: JsonObject) => boolean;

function splitTopLevel(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((p) => p.trim()).filter((p) => p !== '');
}

function parseLabelSelector(sel: string | undefined): Selector {
  if (sel === undefined || sel.trim() === '') return () => true;
  const terms = splitTopLevel(sel).map((term): ((labels: Record<string, unknown>) => boolean) => {
    let m = /^([^!=\s]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (m) {
      const [, key = '', op, value = ''] = m;
      return op === '!=' ? (l) => l[key] !== value.trim() : (l) => l[key] === value.trim();
    }
    m = /^(\S+)\s+(in|notin)\s*\((.*)\)$/.exec(term);
    if (m) {
      const [, key = '', op, list = ''] = m;
      const values = list.split(',').map((v) => v.trim());
      return op === 'in'
        ? (l) => typeof l[key] === 'string' && values.includes(l[key])
        : (l) => !(typeof l[key] === 'string' && values.includes(l[key]));
    }
    if (term.startsWith('!')) {
      const key = term.slice(1).trim();
      return (l) => !(key in l);
    }
    if (/^[^\s=!(),]+$/.test(term)) return (l) => term in l;
    throw fail(
      400,
      'BadRequest',
      `unable to parse requirement: found '${term}', expected: '=', '!=', '==', 'in', notin'`,
    );
  });
  return (obj) => {
    const labels = meta(obj).labels;
    const l = isObject(labels) ? labels : {};
    return terms.every((t) => t(l));
  };
}

function fieldAt(obj: JsonObject, path: string): unknown {
  let cur: unknown = obj;
  for (const p of path.split('.')) {
    if (!isObject(cur)) return undefined;
    cur = cur[p];
  }
  return cur;
}

function parseFieldSelector(sel: string | undefined): Selector {
  if (sel === undefined || sel.trim() === '') return () => true;
  const terms = splitTopLevel(sel).map((term): Selector => {
    const m = /^([^!=\s]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw fail(400, 'BadRequest', `invalid selector: '${sel}'; can't understand '${term}'`);
    const [, path = '', op, value = ''] = m;
    return (obj) => {
      const v = fieldAt(obj, path);
      const s = v === undefined || v === null ? '' : String(v);
      return op === '!=' ? s !== value : s === value;
    };
  });
  return (obj) => terms.every((t) => t(obj));
}

// ---- patches ---------------------------------------------------------------

function mergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const result: JsonObject = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete result[k];
    else result[k] = mergePatch(result[k], v);
  }
  return result;
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new Error(`invalid JSON pointer "${path}"`);
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: Json, tokens: string[]): { parent: Json; last: string } {
  let cur: Json = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) {
      const i = Number(t);
      const next = cur[i];
      if (!/^\d+$/.test(t) || next === undefined) throw new Error(`doc is missing path: ${t}`);
      cur = next;
    } else if (isObject(cur)) {
      const next = cur[t];
      if (next === undefined) throw new Error(`doc is missing path: ${t}`);
      cur = next;
    } else throw new Error(`doc is missing path: ${t}`);
  }
  const last = tokens[tokens.length - 1];
  if (last === undefined) throw new Error('the root cannot be the target of this operation');
  return { parent: cur, last };
}

function getAt(doc: Json, path: string): Json {
  let cur: Json = doc;
  for (const t of pointer(path)) {
    const next: Json | undefined = Array.isArray(cur) ? cur[Number(t)] : isObject(cur) ? cur[t] : undefined;
    if (next === undefined) throw new Error(`doc is missing path: ${path}`);
    cur = next;
  }
  return cur;
}

function removeAt(doc: Json, path: string): Json {
  const { parent, last } = parentOf(doc, pointer(path));
  if (Array.isArray(parent)) {
    const i = Number(last);
    if (!/^\d+$/.test(last) || i >= parent.length) throw new Error(`doc is missing path: ${path}`);
    return parent.splice(i, 1)[0] as Json;
  }
  if (isObject(parent) && last in parent) {
    const v = parent[last] as Json;
    delete parent[last];
    return v;
  }
  throw new Error(`doc is missing path: ${path}`);
}

function addAt(doc: Json, path: string, value: Json, replace: boolean): void {
  const { parent, last } = parentOf(doc, pointer(path));
  if (Array.isArray(parent)) {
    const i = last === '-' ? parent.length : Number(last);
    if ((last !== '-' && !/^\d+$/.test(last)) || i > parent.length || (replace && i >= parent.length)) {
      throw new Error(`doc is missing path: ${path}`);
    }
    if (replace) parent[i] = value;
    else parent.splice(i, 0, value);
    return;
  }
  if (!isObject(parent)) throw new Error(`doc is missing path: ${path}`);
  if (replace && !(last in parent)) throw new Error(`replace operation does not apply: doc is missing key: ${path}`);
  parent[last] = value;
}

function jsonPatch(doc: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw new Error('a json patch must be a list of operations');
  for (const raw of ops) {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw new Error('each json patch operation needs "op" and "path"');
    }
    const { op, path } = raw;
    const value = raw.value === undefined ? null : clone(raw.value);
    switch (op) {
      case 'add':
        addAt(doc, path, value, false);
        break;
      case 'replace':
        addAt(doc, path, value, true);
        break;
      case 'remove':
        removeAt(doc, path);
        break;
      case 'test':
        if (!isDeepStrictEqual(getAt(doc, path), value)) throw new Error(`testing value ${path} failed: test failed`);
        break;
      case 'move':
      case 'copy': {
        if (typeof raw.from !== 'string') throw new Error(`${op} operation needs "from"`);
        const v = op === 'move' ? removeAt(doc, raw.from) : clone(getAt(doc, raw.from));
        addAt(doc, path, v, false);
        break;
      }
      default:
        throw new Error(`Unexpected kind: ${op}`);
    }
  }
  return doc;
}

// ---- the server ------------------------------------------------------------

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string, what: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch (err) {
    throw fail(400, 'BadRequest', `${what}: ${err instanceof Error ? err.message : 'invalid JSON'}`);
  }
}

/** Starts the emulator on 127.0.0.1 and a free port. */
export async function startKubernetesEmulator(opts: KubernetesEmulatorOptions = {}): Promise<KubernetesEmulator> {
  // Loaded here, not at module load, so that importing @latchkey/testing stays cheap.
  const { KubeConfig: KubeConfigClass } = await import('@kubernetes/client-node');
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const store = new Map<string, JsonObject>();
  const history: WatchEvent[] = [];
  const watchers = new Set<Watcher>();
  /** Pod output by Pod uid, and the responses following it. */
  const podLogs = new Map<string, { text: string; followers: Set<ServerResponse> }>();
  const podLog = (uid: string) => {
    let l = podLogs.get(uid);
    if (l === undefined) {
      l = { text: '', followers: new Set() };
      podLogs.set(uid, l);
    }
    return l;
  };
  const log: KubernetesRequestLogEntry[] = [];
  const sockets = new Set<Socket>();
  let resourceVersion = 1000;
  let latencyMs = 0;
  let failures: { remaining: number; status: number } = { remaining: 0, status: 0 };

  const keyOf = (resource: ResourceName, ns: string, name: string) => `${resource}/${ns}/${name}`;
  const objectsIn = (resource: ResourceName, ns: string | undefined) =>
    [...store.entries()]
      .filter(([k]) => k.startsWith(`${resource}/${ns === undefined ? '' : `${ns}/`}`))
      .map(([, v]) => v)
      .sort((a, b) => String(meta(a).name).localeCompare(String(meta(b).name)));

  function notify(ev: WatchEvent): void {
    history.push(ev);
    for (const w of watchers) {
      if (w.resource !== ev.resource) continue;
      if (w.namespace !== undefined && w.namespace !== ev.namespace) continue;
      if (!w.matches(ev.object)) continue;
      w.res.write(`${JSON.stringify({ type: ev.type, object: ev.object })}\n`);
    }
  }

  /** Stores (or, for DELETED, removes) an object under a new resourceVersion. */
  function commit(resource: ResourceName, type: WatchEvent['type'], obj: JsonObject): JsonObject {
    resourceVersion += 1;
    const m = meta(obj);
    m.resourceVersion = String(resourceVersion);
    const ns = String(m.namespace);
    const key = keyOf(resource, ns, String(m.name));
    if (type === 'DELETED') store.delete(key);
    else store.set(key, obj);
    if (resource === 'pods') {
      // A followed log ends when its container is done: the Pod finished or went.
      const phase = isObject(obj.status) ? obj.status.phase : undefined;
      if (type === 'DELETED' || phase === 'Succeeded' || phase === 'Failed') {
        const followers = podLogs.get(String(m.uid))?.followers;
        for (const f of followers ?? []) f.end();
        followers?.clear();
        if (type === 'DELETED') podLogs.delete(String(m.uid));
      }
    }
    notify({ resource, namespace: ns, rv: resourceVersion, type, object: clone(obj) });
    return clone(obj);
  }

  function deleteObject(resource: ResourceName, obj: JsonObject, orphan: boolean): JsonObject {
    const m = meta(obj);
    m.deletionTimestamp = kubeTimestamp();
    const gone = commit(resource, 'DELETED', obj);
    if (!orphan) {
      // Garbage collection: every object in the namespace that names this one as an owner goes with it.
      for (const r of Object.keys(RESOURCES) as ResourceName[]) {
        for (const dep of objectsIn(r, String(m.namespace))) {
          const refs = meta(dep).ownerReferences;
          const owned = Array.isArray(refs) && refs.some((ref) => isObject(ref) && ref.uid === m.uid);
          if (owned && store.has(keyOf(r, String(m.namespace), String(meta(dep).name)))) {
            deleteObject(r, dep, false);
          }
        }
      }
    }
    return gone;
  }

  function notFound(resource: ResourceName, name: string): HttpError {
    return fail(404, 'NotFound', `${resource} "${name}" not found`, { name, kind: resource });
  }

  function conflict(resource: ResourceName, name: string): HttpError {
    return fail(409, 'Conflict', `Operation cannot be fulfilled on ${resource} "${name}": ${CONFLICT_SUFFIX}`, {
      name,
      kind: resource,
    });
  }

  function checkIdentity(body: JsonObject, resource: ResourceName, ns: string, name: string | undefined): void {
    const def = RESOURCES[resource];
    if (body.kind !== undefined && body.kind !== def.kind) {
      throw fail(
        400,
        'BadRequest',
        `${def.kind} in version "v1" cannot be handled as a ${def.kind}: kind "${String(body.kind)}" does not match`,
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

  /** Normalizes, validates and stores the new state of an existing object (PUT and PATCH). */
  function update(
    resource: ResourceName,
    ns: string,
    name: string,
    next: JsonObject,
    old: JsonObject,
    dryRun: boolean,
  ) {
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
    return commit(resource, 'MODIFIED', next);
  }

  function create(resource: ResourceName, ns: string, body: JsonObject, dryRun: boolean): JsonObject {
    const def = RESOURCES[resource];
    checkIdentity(body, resource, ns, undefined);
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
    def.normalize(obj);
    const causes = def.validate(obj, undefined);
    const name = typeof m.name === 'string' ? m.name : '';
    if (causes.length > 0) throw invalid(def.kind, name, causes);
    if (store.has(keyOf(resource, ns, name))) {
      throw fail(409, 'AlreadyExists', `${resource} "${name}" already exists`, { name, kind: resource });
    }
    m.uid = randomUUID();
    m.creationTimestamp = kubeTimestamp();
    // Keep metadata's usual field order: name, namespace, uid, resourceVersion, creationTimestamp, then the rest.
    const { name: _n, namespace: _ns, uid, creationTimestamp, ...rest } = m;
    obj.metadata = { name, namespace: ns, uid, resourceVersion: '', creationTimestamp, ...rest };
    if (dryRun) return obj;
    return commit(resource, 'ADDED', obj);
  }

  function patch(
    resource: ResourceName,
    ns: string,
    name: string,
    contentType: string,
    text: string,
    query: URLSearchParams,
    dryRun: boolean,
  ): { status: number; body: JsonObject } {
    const existing = store.get(keyOf(resource, ns, name));
    const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
    if (type === 'application/apply-patch+yaml') {
      if (!query.get('fieldManager')) {
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
      const body = parseJson(text, 'error decoding YAML (the emulator accepts apply patches written as JSON)');
      if (!isObject(body)) throw fail(400, 'BadRequest', 'an apply patch must be an object');
      if (existing === undefined) {
        const created = create(resource, ns, { ...body, metadata: { ...meta(body), name } }, dryRun);
        return { status: 201, body: created };
      }
      checkIdentity(body, resource, ns, name);
      const next = mergePatch(clone(existing), body) as JsonObject;
      return { status: 200, body: update(resource, ns, name, next, existing, dryRun) };
    }
    if (existing === undefined) throw notFound(resource, name);
    const body = parseJson(text, 'error decoding patch');
    let next: JsonObject;
    if (type === 'application/merge-patch+json' || type === 'application/strategic-merge-patch+json') {
      if (!isObject(body)) throw fail(400, 'BadRequest', 'a merge patch must be a JSON object');
      next = mergePatch(clone(existing), body) as JsonObject;
    } else if (type === 'application/json-patch+json') {
      try {
        const patched = jsonPatch(clone(existing), body);
        if (!isObject(patched)) throw new Error('the patched document is not an object');
        next = patched;
      } catch (err) {
        if (err instanceof HttpError) throw err;
        throw fail(422, 'Invalid', err instanceof Error ? err.message : 'the json patch does not apply');
      }
    } else {
      throw fail(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
      );
    }
    checkIdentity(next, resource, ns, name);
    return { status: 200, body: update(resource, ns, name, next, existing, dryRun) };
  }

  function startWatch(
    resource: ResourceName,
    ns: string | undefined,
    query: URLSearchParams,
    matches: Selector,
    res: ServerResponse,
  ): void {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const from = query.get('resourceVersion');
    const send = (type: string, object: JsonObject) => res.write(`${JSON.stringify({ type, object })}\n`);
    if (from === null || from === '' || from === '0') {
      for (const obj of objectsIn(resource, ns)) if (matches(obj)) send('ADDED', obj);
    } else {
      const since = Number(from);
      if (!Number.isFinite(since)) {
        send('ERROR', statusBody(410, 'Expired', `too old resource version: ${from} (${resourceVersion})`));
        res.end();
        return;
      }
      for (const ev of history) {
        if (ev.rv <= since || ev.resource !== resource) continue;
        if (ns !== undefined && ev.namespace !== ns) continue;
        if (matches(ev.object)) send(ev.type, ev.object);
      }
    }
    const watcher: Watcher = { resource, namespace: ns, matches, res };
    watchers.add(watcher);
    const timeout = Number(query.get('timeoutSeconds') ?? '0');
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    timer?.unref();
    const done = () => {
      watchers.delete(watcher);
      if (timer !== undefined) clearTimeout(timer);
    };
    res.on('close', done);
    res.on('finish', done);
  }

  /** GET pods/NAME/log: the container's output so far, and with follow=true what it writes until it ends. */
  function servePodLog(
    pod: JsonObject,
    name: string,
    q: URLSearchParams,
    res: ServerResponse,
    entry: KubernetesRequestLogEntry,
  ): void {
    const spec = isObject(pod.spec) ? pod.spec : {};
    const containers = (Array.isArray(spec.containers) ? spec.containers : [])
      .map((c) => (isObject(c) && typeof c.name === 'string' ? c.name : ''))
      .filter((c) => c !== '');
    const wanted = q.get('container') ?? '';
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
    const phase = isObject(pod.status) ? pod.status.phase : undefined;
    if (phase === undefined || phase === 'Pending') {
      throw fail(400, 'BadRequest', `container "${container}" in pod "${name}" is waiting to start: ContainerCreating`);
    }
    const out = podLog(String(meta(pod).uid));
    entry.status = 200;
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.write(out.text);
    const follow = q.get('follow') === 'true' || q.get('follow') === '1';
    if (!follow || phase === 'Succeeded' || phase === 'Failed') {
      res.end();
      return;
    }
    out.followers.add(res);
    res.on('close', () => out.followers.delete(res));
  }

  function forbiddenMessage(method: string, route: Route): string {
    const verb =
      {
        GET: route.name === undefined ? 'list' : 'get',
        POST: 'create',
        PUT: 'update',
        PATCH: 'patch',
        DELETE: 'delete',
      }[method] ?? method.toLowerCase();
    const resource = route.resource ?? 'resource';
    const subject = route.name === undefined ? `${resource} is forbidden` : `${resource} "${route.name}" is forbidden`;
    const where = route.namespace === undefined ? 'at the cluster scope' : `in the namespace "${route.namespace}"`;
    return `${subject}: User "system:serviceaccount:latchkey:emulator" cannot ${verb} resource "${resource}" in API group "" ${where}`;
  }

  function injectedFailure(status: number, method: string, route: Route): JsonObject {
    const reason = REASONS[status] ?? 'Unknown';
    const details: JsonObject | undefined =
      route.name !== undefined && route.resource !== undefined ? { name: route.name, kind: route.resource } : undefined;
    switch (status) {
      case 401:
        return statusBody(401, 'Unauthorized', 'Unauthorized');
      case 403:
        return statusBody(403, 'Forbidden', forbiddenMessage(method, route), details ?? { kind: route.resource ?? '' });
      case 404:
        return statusBody(404, 'NotFound', `${route.resource ?? 'resource'} "${route.name ?? ''}" not found`, details);
      case 409:
        return statusBody(
          409,
          'Conflict',
          `Operation cannot be fulfilled on ${route.resource ?? 'resource'} "${route.name ?? ''}": ${CONFLICT_SUFFIX}`,
          details,
        );
      case 429:
        return statusBody(429, 'TooManyRequests', 'Too many requests, please try again later.', {
          retryAfterSeconds: 1,
        });
      case 500:
        return statusBody(500, 'InternalError', 'Internal error occurred: injected by the emulator', details);
      case 503:
        return statusBody(503, 'ServiceUnavailable', 'the server is currently unable to handle the request', details);
      case 504:
        return statusBody(504, 'Timeout', 'the server was unable to return a response in the time allotted', details);
      default:
        return statusBody(status, reason, `injected failure (HTTP ${status})`, details);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse, entry: KubernetesRequestLogEntry): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const route = parseRoute(url.pathname);
    const text = await readBody(req);
    if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));

    const send = (status: number, body: JsonObject) => {
      entry.status = status;
      const payload = JSON.stringify(body);
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) });
      res.end(payload);
    };

    if (failures.remaining > 0) {
      failures.remaining -= 1;
      if (failures.status === 0) {
        entry.status = 0;
        req.socket.destroy();
        return;
      }
      send(failures.status, injectedFailure(failures.status, method, route));
      return;
    }

    if (req.headers.authorization !== `Bearer ${token}`) {
      send(401, statusBody(401, 'Unauthorized', 'Unauthorized'));
      return;
    }

    try {
      if (route.unknown || route.resource === undefined) {
        throw fail(404, 'NotFound', 'the server could not find the requested resource', {});
      }
      const { resource, namespace: ns, name } = route;
      const def = RESOURCES[resource];
      const q = url.searchParams;
      const dryRun = q.getAll('dryRun').includes('All');

      if (name === undefined) {
        if (method === 'GET') {
          const matches = (
            (l: Selector, f: Selector) => (o: JsonObject) =>
              l(o) && f(o)
          )(
            parseLabelSelector(q.get('labelSelector') ?? undefined),
            parseFieldSelector(q.get('fieldSelector') ?? undefined),
          );
          const watch = q.get('watch');
          if (watch === 'true' || watch === '1') {
            entry.status = 200;
            startWatch(resource, ns, q, matches, res);
            return;
          }
          const items = objectsIn(resource, ns)
            .filter(matches)
            .map((o) => {
              // A typed list's items carry no kind/apiVersion on the wire.
              const { kind: _k, apiVersion: _a, ...item } = o;
              return item;
            });
          send(200, {
            kind: def.listKind,
            apiVersion: 'v1',
            metadata: { resourceVersion: String(resourceVersion) },
            items,
          });
          return;
        }
        if (method === 'POST' && ns !== undefined) {
          const body = parseJson(text, `${def.kind} in version "v1" cannot be handled as a ${def.kind}`);
          if (!isObject(body))
            throw fail(400, 'BadRequest', `${def.kind} in version "v1" cannot be handled as a ${def.kind}`);
          send(201, create(resource, ns, body, dryRun));
          return;
        }
        throw fail(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`, {});
      }

      if (ns === undefined) throw fail(404, 'NotFound', 'the server could not find the requested resource', {});
      const existing = store.get(keyOf(resource, ns, name));
      if (route.subresource === 'log') {
        if (method !== 'GET') {
          throw fail(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
        }
        if (existing === undefined) throw notFound(resource, name);
        servePodLog(existing, name, q, res, entry);
        return;
      }
      switch (method) {
        case 'GET':
          if (existing === undefined) throw notFound(resource, name);
          send(200, clone(existing));
          return;
        case 'PUT': {
          if (existing === undefined) throw notFound(resource, name);
          const body = parseJson(text, `${def.kind} in version "v1" cannot be handled as a ${def.kind}`);
          if (!isObject(body))
            throw fail(400, 'BadRequest', `${def.kind} in version "v1" cannot be handled as a ${def.kind}`);
          checkIdentity(body, resource, ns, name);
          send(200, update(resource, ns, name, clone(body), existing, dryRun));
          return;
        }
        case 'PATCH': {
          const out = patch(resource, ns, name, req.headers['content-type'] ?? '', text, q, dryRun);
          send(out.status, out.body);
          return;
        }
        case 'DELETE': {
          if (existing === undefined) throw notFound(resource, name);
          const opts = text.trim() === '' ? {} : parseJson(text, 'DeleteOptions');
          const options = isObject(opts) ? opts : {};
          const pre = isObject(options.preconditions) ? options.preconditions : {};
          if (typeof pre.resourceVersion === 'string' && pre.resourceVersion !== meta(existing).resourceVersion) {
            throw conflict(resource, name);
          }
          if (typeof pre.uid === 'string' && pre.uid !== meta(existing).uid) {
            throw fail(
              409,
              'Conflict',
              `Operation cannot be fulfilled on ${resource} "${name}": Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${String(meta(existing).uid)}`,
              { name, kind: resource },
            );
          }
          const uid = String(meta(existing).uid);
          const orphan = options.propagationPolicy === 'Orphan' || q.get('propagationPolicy') === 'Orphan';
          const gone = dryRun ? clone(existing) : deleteObject(resource, existing, orphan);
          if (def.deleteReturnsObject) {
            send(200, gone);
          } else {
            send(200, {
              kind: 'Status',
              apiVersion: 'v1',
              metadata: {},
              status: 'Success',
              details: { name, kind: resource, uid },
            });
          }
          return;
        }
        default:
          throw fail(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
      }
    } catch (err) {
      if (err instanceof HttpError) send(err.status, err.body);
      else send(500, statusBody(500, 'InternalError', `Internal error occurred: ${String(err)}`));
    }
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const entry: KubernetesRequestLogEntry = {
      method: (req.method ?? 'GET').toUpperCase(),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
    };
    log.push(entry);
    handle(req, res, entry).catch(() => {
      if (!res.headersSent) {
        entry.status = 500;
        res.writeHead(500, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(statusBody(500, 'InternalError', 'Internal error occurred')));
      } else res.destroy();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    token,
    kubeConfig() {
      const kc = new KubeConfigClass();
      kc.loadFromClusterAndUser(
        { name: 'latchkey-emulator', server: url, skipTLSVerify: true },
        { name: 'latchkey-emulator', token },
      );
      return kc;
    },
    setLatency(ms) {
      latencyMs = Math.max(0, ms);
    },
    failNext(n, status) {
      failures = { remaining: Math.max(0, n), status };
    },
    requests: () => log.map((e) => ({ ...e, query: { ...e.query } })),
    secrets: (ns) => objectsIn('secrets', ns).map((o) => clone(o) as unknown as KubernetesObject),
    pods: (ns) => objectsIn('pods', ns).map((o) => clone(o) as unknown as KubernetesObject),
    setPodPhase(ns, name, phase) {
      const pod = store.get(keyOf('pods', ns, name));
      if (pod === undefined) throw new Error(`pods "${name}" not found in namespace ${ns}`);
      const next = clone(pod);
      next.status = { ...(isObject(next.status) ? next.status : {}), phase };
      commit('pods', 'MODIFIED', next);
    },
    appendPodLog(ns, name, text) {
      const pod = store.get(keyOf('pods', ns, name));
      if (pod === undefined) throw new Error(`pods "${name}" not found in namespace ${ns}`);
      const phase = isObject(pod.status) ? pod.status.phase : undefined;
      if (phase !== 'Running')
        throw new Error(`pod ${name} is ${String(phase)}: only a Running container writes output`);
      const out = podLog(String(meta(pod).uid));
      out.text += text;
      for (const f of out.followers) f.write(text);
    },
    async stop() {
      for (const w of watchers) w.res.end();
      watchers.clear();
      for (const l of podLogs.values()) for (const f of l.followers) f.end();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}

// ---- real Kubernetes (k3s) through testcontainers ---------------------------

/** A real single-node k3s cluster in a container, for the suites that also run against the emulator. */
export interface TestK3s {
  /** https://<host>:<mapped port> of the API server. */
  readonly server: string;
  /** A KubeConfig for the cluster (client-certificate auth), optionally aimed at another server URL. */
  kubeConfig(server?: string): KubeConfig;
  stop(): Promise<void>;
}

const K3S_IMAGE = 'rancher/k3s:v1.31.4-k3s1';
const K3S_KUBECONFIG = '/etc/rancher/k3s/k3s.yaml';

/**
 * Why the k3s suites must be skipped, or undefined when they can run: they
 * need LATCHKEY_TEST_DOCKER=1 and a container runtime that answers.
 */
export async function k3sSkipReason(): Promise<string | undefined> {
  if (process.env.LATCHKEY_TEST_DOCKER !== '1') return 'set LATCHKEY_TEST_DOCKER=1 to also run against k3s';
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return undefined;
  } catch (err) {
    return `no container runtime: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** Starts k3s (privileged, as k3s requires) and waits until its node controller has synced. */
export async function startTestK3s(opts: { image?: string } = {}): Promise<TestK3s> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const { KubeConfig: KubeConfigClass } = await import('@kubernetes/client-node');
  const container = await new GenericContainer(opts.image ?? K3S_IMAGE)
    .withExposedPorts(6443)
    .withPrivilegedMode()
    .withCommand(['server', '--disable=traefik', '--disable=metrics-server'])
    .withTmpFs({ '/run': 'rw', '/var/run': 'rw' })
    .withWaitStrategy(Wait.forLogMessage('Node controller sync successful'))
    .withStartupTimeout(180_000)
    .start();
  try {
    const read = await container.exec(['cat', K3S_KUBECONFIG]);
    if (read.exitCode !== 0) throw new Error(`could not read ${K3S_KUBECONFIG} from the k3s container`);
    const raw = read.stdout;
    const server = `https://${container.getHost()}:${container.getMappedPort(6443)}`;
    return {
      server,
      kubeConfig(override) {
        const kc = new KubeConfigClass();
        kc.loadFromString(raw.replace(/server:\s?\S+/, `server: ${override ?? server}`));
        return kc;
      },
      async stop() {
        await container.stop();
      },
    };
  } catch (err) {
    await container.stop();
    throw err;
  }
}
