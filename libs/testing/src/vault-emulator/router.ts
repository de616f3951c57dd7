/**
 * From an HTTP request to a route: the token, the namespace (header and path
 * prefix), the request log, the test controls (latency, injected failures,
 * seal), the list flag and the JSON body, then authentication, policy and the
 * mount lookup.
 */
import type { IncomingMessage } from 'node:http';
import { type FaultInjector, queryOf, readBodyText } from '../emulator-common/json-http.js';
import { errors } from './failure.js';
import { databaseRoute, leaseRoute } from './lease-routes.js';
import { kv1Route } from './kv1-routes.js';
import type { PathFaults } from './path-faults.js';
import { kvRoute, loginRoute, tokenSelfRoute, type VaultReply, type VaultRequest } from './routes.js';
import { EMULATED_VAULT_VERSION, sealStatus, sysRoute } from './sys-routes.js';
import { checkPolicy, joinNs, trimSlashes, type VaultStore } from './store.js';
import type { RequestLogEntry } from './types.js';

/** The emulator's test controls, as the router reads them. */
export interface VaultControls {
  readonly sealed: boolean;
  readonly faults: FaultInjector<number | 'reset'>;
  readonly log: RequestLogEntry[];
  readonly pathFaults: PathFaults;
  /** Bodies over this are 413 (the listener's max_request_size). */
  readonly maxRequestBytes: number;
}

/** Vault's default max_request_size. */
export const DEFAULT_MAX_REQUEST_BYTES = 32 * 1024 * 1024;

interface Addressed {
  url: URL;
  method: string;
  token: string | undefined;
  /** The effective namespace, '' for root. */
  ns: string;
  /** The path after `/v1/` and the namespace prefix, decoded. */
  rel: string;
  inV1: boolean;
}

function tokenOf(req: IncomingMessage): string | undefined {
  const header = req.headers['x-vault-token'];
  if (typeof header === 'string' && header !== '') return header;
  const authz = req.headers.authorization;
  if (typeof authz === 'string' && authz.startsWith('Bearer ')) return authz.slice('Bearer '.length);
  return undefined;
}

function address(store: VaultStore, req: IncomingMessage): Addressed {
  const url = new URL(req.url ?? '/', 'http://emulator');
  const headerNs = req.headers['x-vault-namespace'];
  let ns = typeof headerNs === 'string' ? trimSlashes(headerNs) : '';
  let segments = url.pathname.split('/').filter((s) => s !== '');
  const inV1 = segments[0] === 'v1';
  try {
    segments = segments.slice(1).map((s) => decodeURIComponent(s));
  } catch {
    throw errors(400, 'invalid path encoding');
  }
  while (segments[0] !== undefined && store.hasNamespace(joinNs(ns, segments[0]))) {
    ns = joinNs(ns, segments[0]);
    segments = segments.slice(1);
  }
  const method = (req.method ?? 'GET').toUpperCase();
  return { url, method, token: tokenOf(req), ns, rel: segments.join('/'), inV1 };
}

/** Vault's strconv.ParseBool. */
function parseBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

function isListRequest(method: string, query: URLSearchParams): boolean {
  const listParam = query.get('list');
  if (listParam === null || method !== 'GET') return method === 'LIST';
  const b = parseBool(listParam);
  if (b === undefined) throw errors(400, `error parsing list parameter: invalid syntax`);
  return b;
}

async function readJsonObject(req: IncomingMessage, maxBytes: number): Promise<Record<string, unknown>> {
  const text = await readBodyText(req);
  if (Buffer.byteLength(text) > maxBytes) throw errors(413, 'http: request body too large');
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw errors(400, 'failed to parse JSON input');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw errors(400, 'failed to parse JSON input: not an object');
  }
  return parsed as Record<string, unknown>;
}

/** Answers one request, or `'reset'` when its connection must be dropped; throws `VaultFailure`s. */
export async function handleVaultRequest(
  store: VaultStore,
  controls: VaultControls,
  req: IncomingMessage,
): Promise<VaultReply | 'reset'> {
  const a = address(store, req);
  controls.log.push({
    method: a.method,
    path: a.url.pathname,
    query: queryOf(a.url),
    namespace: a.ns === '' ? undefined : a.ns,
    hasToken: a.token !== undefined,
  });
  await controls.faults.delay();
  const failure = controls.faults.takeFailure();
  if (failure === 'reset') return 'reset';
  if (failure !== undefined) throw errors(failure, 'injected failure');
  if (!a.inV1) throw errors(404);
  await controls.pathFaults.apply(a.ns === '' ? a.rel : `${a.ns}/${a.rel}`);
  if (a.rel === 'sys/health' && a.method === 'GET') {
    const sealed = controls.sealed;
    return {
      status: sealed ? 503 : 200,
      body: { initialized: true, sealed, standby: false, version: EMULATED_VAULT_VERSION, cluster_name: 'emulator' },
    };
  }
  if (a.rel === 'sys/seal-status' && a.method === 'GET') return sealStatus(controls.sealed);
  if (controls.sealed) throw errors(503, 'Vault is sealed');
  const isList = isListRequest(a.method, a.url.searchParams);
  const body = a.method === 'POST' || a.method === 'PUT' ? await readJsonObject(req, controls.maxRequestBytes) : {};
  return dispatch(store, a, { method: a.method, query: a.url.searchParams, body, isList });
}

function dispatch(store: VaultStore, a: Addressed, req: VaultRequest): VaultReply {
  const login = /^auth\/([^/]+)\/login$/.exec(a.rel);
  if (login && (req.method === 'POST' || req.method === 'PUT') && store.hasAppRoleMount(login[1] as string)) {
    return loginRoute(store, login[1] as string, req.body);
  }
  const state = store.checkToken(a.token);
  const tokenOp = /^auth\/token\/(lookup-self|renew-self)$/.exec(a.rel);
  if (tokenOp) return tokenSelfRoute(tokenOp[1] as string, a.token as string, state, req);

  const sys = sysRoute(store, a.ns, a.rel, state, req) ?? leaseRoute(store.databases, a.ns, a.rel, state, req);
  if (sys !== undefined) return sys;
  const fullPath = joinNs(a.ns, a.rel);
  checkPolicy(state, req.isList && !fullPath.endsWith('/') ? `${fullPath}/` : fullPath);
  const database = store.databases.findMount(a.ns, a.rel);
  if (database !== undefined) {
    return databaseRoute(store.databases, a.ns, database, a.rel.slice(database.length + 1), req);
  }
  const found = store.findMount(a.ns, a.rel);
  if (!found) throw errors(404, `no handler for route "${fullPath}". route entry not found.`);
  const rest = a.rel.slice(found.name.length + 1);
  return found.version === 1 ? kv1Route(found.secrets, rest, req) : kvRoute(found.secrets, rest, req);
}
