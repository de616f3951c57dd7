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
 * - Test controls: seal switch, latency and failure injection, and a request
 *   log that never holds a token value or a body.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

export interface RequestLogEntry {
  method: string;
  /** The URL path as received, e.g. `/v1/ns1/secret/data/app`. */
  path: string;
  /** Query parameters as received (`{ list: '1' }`). */
  query: Record<string, string>;
  /** The effective namespace (header and path prefix), undefined for root. */
  namespace: string | undefined;
  /** Whether the request carried a token; the token itself is never kept. */
  hasToken: boolean;
}

export interface VaultEmulatorOptions {
  /** Root token value; random by default. */
  rootToken?: string;
  /** KV v2 mounts created at start in the root namespace. Default `['secret']`, like a dev server. */
  mounts?: string[];
}

export interface AddTokenOptions {
  /** Token TTL; default 768h like Vault's default. */
  ttlSeconds?: number;
}

export interface AddAppRoleOptions {
  /** lease_duration of the tokens it issues; default 1200. */
  leaseSeconds?: number;
  /** AppRole auth mount; default `approle`. */
  mount?: string;
  /** `metadata.role_name` in the login response; default `role-<n>`. */
  roleName?: string;
}

export interface NamespaceOption {
  /** `ns1` or `ns1/ns2`; default root. */
  namespace?: string;
}

/**
 * What the shared Vault test suites need from a Vault: the emulator and a real
 * dev-mode container (see `startVaultContainer`) both provide it.
 */
export interface VaultTestServer {
  readonly kind: 'emulator' | 'container';
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly rootToken: string;
  /** False for Vault OSS, which has no namespaces. */
  readonly supportsNamespaces: boolean;
  /** A new token whose policies allow the given path prefixes (see the module comment). */
  addToken(policyPrefixes: string[], opts?: AddTokenOptions): Promise<string>;
  /** Registers an AppRole whose logins yield tokens allowed the given prefixes. */
  addAppRole(roleId: string, secretId: string, policyPrefixes: string[], opts?: AddAppRoleOptions): Promise<void>;
  /** Creates a KV v2 mount (and its namespace). Idempotent. */
  mount(name: string, opts?: NamespaceOption): Promise<void>;
  /** Writes a new version directly (no token, no log entry on the emulator). Returns the version. */
  putSecret(mount: string, path: string, data: Record<string, unknown>, opts?: NamespaceOption): Promise<number>;
  /** Soft-deletes one version. */
  deleteVersion(mount: string, path: string, version: number, opts?: NamespaceOption): Promise<void>;
  /** Destroys one version's data for good. */
  destroyVersion(mount: string, path: string, version: number, opts?: NamespaceOption): Promise<void>;
  stop(): Promise<void>;
}

export interface VaultEmulator extends VaultTestServer {
  readonly kind: 'emulator';
  readonly port: number;
  /** 503 `Vault is sealed` on every request while true. */
  seal(sealed: boolean): void;
  /** Delay before every response. */
  setLatency(ms: number): void;
  /**
   * The next `count` requests answer `status` with `{"errors":["injected failure"]}`,
   * or, with `'reset'`, have their connection destroyed without an answer.
   */
  failNext(count: number, status: number | 'reset'): void;
  /** A copy of the request log, oldest first. */
  requests(): RequestLogEntry[];
  clearRequests(): void;
}

interface VersionState {
  data: Record<string, unknown> | null;
  createdTime: string;
  deletionTime: string;
  destroyed: boolean;
}

interface SecretState {
  createdTime: string;
  updatedTime: string;
  currentVersion: number;
  oldestVersion: number;
  versions: Map<number, VersionState>;
}

type Mount = Map<string, SecretState>;

interface TokenState {
  /** undefined for root */
  policyPrefixes: string[] | undefined;
  accessor: string;
  creationTime: number;
  ttlSeconds: number;
  expiresAt: number | undefined;
  displayName: string;
  path: string;
}

interface AppRoleState {
  roleId: string;
  secretId: string;
  policyPrefixes: string[];
  leaseSeconds: number;
  mount: string;
  roleName: string;
}

const MAX_VERSIONS = 10;
const DEFAULT_TOKEN_TTL = 768 * 3600;
const POLICY_DENIED = '1 error occurred:\n\t* permission denied\n\n';

class HttpFailure {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}

const errors = (status: number, ...messages: string[]) => new HttpFailure(status, { errors: messages });

function nowIso(): string {
  return new Date().toISOString();
}

function trimSlashes(s: string): string {
  return s.replace(/^\/+|\/+$/g, '');
}

function joinNs(ns: string, child: string): string {
  return ns === '' ? child : `${ns}/${child}`;
}

/** Vault's strconv.ParseBool. */
function parseBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

function newToken(): string {
  return `hvs.${randomBytes(18).toString('base64url')}`;
}

function parseDuration(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.floor(v);
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+)([smh]?)$/.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] === 'h' ? n * 3600 : m[2] === 'm' ? n * 60 : n;
}

/** Starts the emulator on 127.0.0.1 and a free port. */
export async function startVaultEmulator(opts: VaultEmulatorOptions = {}): Promise<VaultEmulator> {
  const rootToken = opts.rootToken ?? newToken();
  const namespaces = new Set<string>(['']);
  /** key: `<namespace>\n<mount>` */
  const mounts = new Map<string, Mount>();
  const tokens = new Map<string, TokenState>();
  const appRoles: AppRoleState[] = [];
  const log: RequestLogEntry[] = [];
  let sealed = false;
  let latencyMs = 0;
  let failures: { remaining: number; status: number | 'reset' } = { remaining: 0, status: 500 };
  let roleCounter = 0;

  tokens.set(rootToken, {
    policyPrefixes: undefined,
    accessor: randomBytes(12).toString('base64url'),
    creationTime: Math.floor(Date.now() / 1000),
    ttlSeconds: 0,
    expiresAt: undefined,
    displayName: 'root',
    path: 'auth/token/root',
  });

  const mountKey = (ns: string, name: string) => `${ns}\n${name}`;

  function createMount(name: string, ns: string): void {
    const parts = ns === '' ? [] : ns.split('/');
    for (let i = 1; i <= parts.length; i++) namespaces.add(parts.slice(0, i).join('/'));
    const key = mountKey(ns, trimSlashes(name));
    if (!mounts.has(key)) mounts.set(key, new Map());
  }
  for (const m of opts.mounts ?? ['secret']) createMount(m, '');

  function requireMount(name: string, ns: string): Mount {
    const m = mounts.get(mountKey(trimSlashes(ns), trimSlashes(name)));
    if (!m) throw new Error(`vault emulator: no mount "${name}" in namespace "${ns}"`);
    return m;
  }

  function issueToken(policyPrefixes: string[], ttlSeconds: number, displayName: string, path: string): string {
    const token = newToken();
    const now = Date.now();
    tokens.set(token, {
      policyPrefixes: [...policyPrefixes],
      accessor: randomBytes(12).toString('base64url'),
      creationTime: Math.floor(now / 1000),
      ttlSeconds,
      expiresAt: now + ttlSeconds * 1000,
      displayName,
      path,
    });
    return token;
  }

  function writeVersion(
    mount: Mount,
    path: string,
    data: Record<string, unknown>,
  ): { secret: SecretState; version: number } {
    const now = nowIso();
    let secret = mount.get(path);
    if (!secret) {
      secret = { createdTime: now, updatedTime: now, currentVersion: 0, oldestVersion: 0, versions: new Map() };
      mount.set(path, secret);
    }
    const version = secret.currentVersion + 1;
    secret.currentVersion = version;
    secret.updatedTime = now;
    secret.versions.set(version, { data: { ...data }, createdTime: now, deletionTime: '', destroyed: false });
    if (secret.oldestVersion === 0) secret.oldestVersion = version;
    while (secret.versions.size > MAX_VERSIONS) {
      secret.versions.delete(secret.oldestVersion);
      secret.oldestVersion += 1;
    }
    return { secret, version };
  }

  function softDelete(secret: SecretState, version: number): void {
    const v = secret.versions.get(version);
    if (v && !v.destroyed && v.deletionTime === '') v.deletionTime = nowIso();
  }

  function destroy(secret: SecretState, version: number): void {
    const v = secret.versions.get(version);
    if (v) {
      v.destroyed = true;
      v.data = null;
    }
  }

  const envelope = (data: unknown, extra: Record<string, unknown> = {}) => ({
    request_id: randomUUID(),
    lease_id: '',
    renewable: false,
    lease_duration: 0,
    data,
    wrap_info: null,
    warnings: null,
    auth: null,
    mount_type: 'kv',
    ...extra,
  });

  const versionMetadata = (v: VersionState, version: number) => ({
    created_time: v.createdTime,
    custom_metadata: null,
    deletion_time: v.deletionTime,
    destroyed: v.destroyed,
    version,
  });

  function authResponse(token: string, state: TokenState, extra: Record<string, unknown> = {}) {
    const policies = state.policyPrefixes === undefined ? ['root'] : ['default', 'latchkey-test'];
    return {
      ...envelope(null),
      mount_type: '',
      auth: {
        client_token: token,
        accessor: state.accessor,
        policies,
        token_policies: policies,
        metadata: null,
        lease_duration: state.ttlSeconds,
        renewable: state.policyPrefixes !== undefined,
        entity_id: '',
        token_type: 'service',
        orphan: true,
        mfa_requirement: null,
        num_uses: 0,
        ...extra,
      },
    };
  }

  function tokenOf(req: http.IncomingMessage): string | undefined {
    const header = req.headers['x-vault-token'];
    if (typeof header === 'string' && header !== '') return header;
    const authz = req.headers.authorization;
    if (typeof authz === 'string' && authz.startsWith('Bearer ')) return authz.slice('Bearer '.length);
    return undefined;
  }

  function checkToken(token: string | undefined): TokenState {
    const state = token === undefined ? undefined : tokens.get(token);
    if (!state) throw errors(403, 'permission denied');
    if (state.expiresAt !== undefined && Date.now() >= state.expiresAt) {
      tokens.delete(token as string);
      throw errors(403, 'permission denied');
    }
    return state;
  }

  function checkPolicy(state: TokenState, fullPath: string): void {
    if (state.policyPrefixes === undefined) return;
    if (!state.policyPrefixes.some((p) => fullPath.startsWith(p))) throw errors(403, POLICY_DENIED);
  }

  async function readBody(req: http.IncomingMessage): Promise<Record<string, unknown>> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    if (text.trim() === '') return {};
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw errors(400, 'failed to parse JSON input: not an object');
      }
      return parsed as Record<string, unknown>;
    } catch (err) {
      if (err instanceof HttpFailure) throw err;
      throw errors(400, 'failed to parse JSON input');
    }
  }

  function handleLogin(body: Record<string, unknown>, authMount: string) {
    const roleId = body['role_id'];
    const secretId = body['secret_id'];
    if (typeof roleId !== 'string' || roleId === '') throw errors(400, 'missing role_id');
    if (typeof secretId !== 'string' || secretId === '') throw errors(400, 'missing secret_id');
    const role = appRoles.find((r) => r.mount === authMount && r.roleId === roleId && r.secretId === secretId);
    if (!role) throw errors(400, 'invalid role or secret ID');
    const token = issueToken(role.policyPrefixes, role.leaseSeconds, `approle`, `auth/${authMount}/login`);
    const state = tokens.get(token) as TokenState;
    return authResponse(token, state, { metadata: { role_name: role.roleName }, renewable: true });
  }

  function handleTokenSelf(
    op: string,
    method: string,
    token: string,
    state: TokenState,
    body: Record<string, unknown>,
  ) {
    if (op === 'lookup-self' && (method === 'GET' || method === 'POST')) {
      const now = Date.now();
      const root = state.policyPrefixes === undefined;
      return {
        ...envelope({
          accessor: state.accessor,
          creation_time: state.creationTime,
          creation_ttl: state.ttlSeconds,
          display_name: root ? 'root' : `token-${state.displayName}`,
          entity_id: '',
          expire_time: state.expiresAt === undefined ? null : new Date(state.expiresAt).toISOString(),
          explicit_max_ttl: 0,
          id: token,
          issue_time: new Date(state.creationTime * 1000).toISOString(),
          meta: null,
          num_uses: 0,
          orphan: true,
          path: state.path,
          policies: root ? ['root'] : ['default', 'latchkey-test'],
          renewable: !root,
          ttl: state.expiresAt === undefined ? 0 : Math.max(0, Math.floor((state.expiresAt - now) / 1000)),
          type: 'service',
        }),
        mount_type: 'token',
      };
    }
    if (op === 'renew-self' && (method === 'POST' || method === 'PUT')) {
      if (state.policyPrefixes !== undefined) {
        const increment = parseDuration(body['increment']) ?? state.ttlSeconds;
        state.ttlSeconds = increment;
        state.expiresAt = Date.now() + increment * 1000;
      }
      return authResponse(token, state);
    }
    throw errors(405, '1 error occurred:\n\t* unsupported operation\n\n');
  }

  function handleKv(
    mount: Mount,
    rest: string,
    method: string,
    query: URLSearchParams,
    body: Record<string, unknown>,
    isList: boolean,
  ): { status: number; body?: unknown } {
    const slash = rest.indexOf('/');
    const kind = slash < 0 ? rest : rest.slice(0, slash);
    const path = slash < 0 ? '' : trimSlashes(rest.slice(slash + 1));
    const unsupported = errors(405, '1 error occurred:\n\t* unsupported operation\n\n');

    if (kind === 'data') {
      if (isList) throw unsupported;
      if (path === '') throw errors(404);
      if (method === 'GET') {
        const secret = mount.get(path);
        const raw = query.get('version');
        let version = secret?.currentVersion ?? 0;
        if (raw !== null && raw !== '' && raw !== '0') {
          if (!/^\d+$/.test(raw)) throw errors(400, `error parsing version: invalid syntax`);
          version = Number(raw);
        }
        const v = secret?.versions.get(version);
        if (!secret || !v) throw errors(404);
        const data = {
          data: v.deletionTime !== '' || v.destroyed ? null : v.data,
          metadata: versionMetadata(v, version),
        };
        if (data.data === null) return { status: 404, body: envelope(data) };
        return { status: 200, body: envelope(data) };
      }
      if (method === 'POST' || method === 'PUT') {
        const data = body['data'];
        if (data === null || typeof data !== 'object' || Array.isArray(data)) throw errors(400, 'no data provided');
        const options = body['options'];
        const cas =
          options !== null && typeof options === 'object' ? (options as Record<string, unknown>)['cas'] : undefined;
        if (typeof cas === 'number' && cas !== (mount.get(path)?.currentVersion ?? 0)) {
          throw errors(400, 'check-and-set parameter did not match the current version');
        }
        const { version } = writeVersion(mount, path, data as Record<string, unknown>);
        const v = mount.get(path)?.versions.get(version) as VersionState;
        return { status: 200, body: envelope(versionMetadata(v, version)) };
      }
      if (method === 'DELETE') {
        const secret = mount.get(path);
        if (secret) softDelete(secret, secret.currentVersion);
        return { status: 204 };
      }
      throw unsupported;
    }

    if (kind === 'metadata') {
      if (isList) {
        const prefix = path === '' ? '' : `${path}/`;
        const keys = new Set<string>();
        for (const p of mount.keys()) {
          if (!p.startsWith(prefix)) continue;
          const tail = p.slice(prefix.length);
          const i = tail.indexOf('/');
          keys.add(i < 0 ? tail : `${tail.slice(0, i)}/`);
        }
        if (keys.size === 0) throw errors(404);
        return { status: 200, body: envelope({ keys: [...keys].sort() }) };
      }
      if (path === '') throw errors(404);
      if (method === 'GET') {
        const secret = mount.get(path);
        if (!secret) throw errors(404);
        const versions: Record<string, unknown> = {};
        for (const [n, v] of [...secret.versions.entries()].sort((a, b) => a[0] - b[0])) {
          versions[String(n)] = { created_time: v.createdTime, deletion_time: v.deletionTime, destroyed: v.destroyed };
        }
        return {
          status: 200,
          body: envelope({
            cas_required: false,
            created_time: secret.createdTime,
            current_version: secret.currentVersion,
            custom_metadata: null,
            delete_version_after: '0s',
            max_versions: 0,
            oldest_version: secret.oldestVersion,
            updated_time: secret.updatedTime,
            versions,
          }),
        };
      }
      if (method === 'DELETE') {
        mount.delete(path);
        return { status: 204 };
      }
      throw unsupported;
    }

    if (kind === 'delete' || kind === 'destroy') {
      if (isList || (method !== 'POST' && method !== 'PUT')) throw unsupported;
      const versions = body['versions'];
      if (!Array.isArray(versions) || versions.length === 0) throw errors(400, 'no version number provided');
      const secret = mount.get(path);
      if (secret) {
        for (const n of versions) {
          if (typeof n === 'number') (kind === 'delete' ? softDelete : destroy)(secret, n);
        }
      }
      return { status: 204 };
    }
    throw errors(404, `1 error occurred:\n\t* unsupported path\n\n`);
  }

  async function handle(req: http.IncomingMessage): Promise<{ status: number; body?: unknown }> {
    const url = new URL(req.url ?? '/', 'http://emulator');
    const method = (req.method ?? 'GET').toUpperCase();
    const token = tokenOf(req);
    const headerNs = req.headers['x-vault-namespace'];
    let ns = typeof headerNs === 'string' ? trimSlashes(headerNs) : '';

    let segments = url.pathname.split('/').filter((s) => s !== '');
    const inV1 = segments[0] === 'v1';
    try {
      segments = segments.slice(1).map((s) => decodeURIComponent(s));
    } catch {
      throw errors(400, 'invalid path encoding');
    }
    while (segments[0] !== undefined && namespaces.has(joinNs(ns, segments[0]))) {
      ns = joinNs(ns, segments[0]);
      segments = segments.slice(1);
    }

    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    log.push({
      method,
      path: url.pathname,
      query,
      namespace: ns === '' ? undefined : ns,
      hasToken: token !== undefined,
    });

    if (latencyMs > 0) await delay(latencyMs);
    if (failures.remaining > 0) {
      failures.remaining -= 1;
      if (failures.status === 'reset') return { status: -1 };
      throw errors(failures.status, 'injected failure');
    }
    if (!inV1) throw errors(404);
    const rel = segments.join('/');

    if (rel === 'sys/health' && method === 'GET') {
      return {
        status: sealed ? 503 : 200,
        body: { initialized: true, sealed, standby: false, version: '1.20.0-emulator', cluster_name: 'emulator' },
      };
    }
    if (sealed) throw errors(503, 'Vault is sealed');

    const listParam = url.searchParams.get('list');
    let isList = method === 'LIST';
    if (listParam !== null && method === 'GET') {
      const b = parseBool(listParam);
      if (b === undefined) throw errors(400, `error parsing list parameter: invalid syntax`);
      isList = b;
    }
    const body = method === 'POST' || method === 'PUT' ? await readBody(req) : {};

    const login = /^auth\/([^/]+)\/login$/.exec(rel);
    if (login && (method === 'POST' || method === 'PUT') && appRoles.some((r) => r.mount === login[1])) {
      return { status: 200, body: handleLogin(body, login[1] as string) };
    }

    const state = checkToken(token);
    const tokenOp = /^auth\/token\/(lookup-self|renew-self)$/.exec(rel);
    if (tokenOp)
      return { status: 200, body: handleTokenSelf(tokenOp[1] as string, method, token as string, state, body) };

    const fullPath = joinNs(ns, rel);
    checkPolicy(state, isList && !fullPath.endsWith('/') ? `${fullPath}/` : fullPath);

    let best: string | undefined;
    for (const key of mounts.keys()) {
      const [mns, name] = key.split('\n') as [string, string];
      if (mns !== ns) continue;
      if ((rel === name || rel.startsWith(`${name}/`)) && (best === undefined || name.length > best.length))
        best = name;
    }
    if (best === undefined || !namespaces.has(ns)) {
      throw errors(404, `no handler for route "${fullPath}". route entry not found.`);
    }
    const mount = mounts.get(mountKey(ns, best)) as Mount;
    return handleKv(mount, rel.slice(best.length + 1), method, url.searchParams, body, isList);
  }

  const server = http.createServer((req, res) => {
    handle(req)
      .then(
        (r) => r,
        (err: unknown) => {
          if (err instanceof HttpFailure) return { status: err.status, body: err.body };
          return { status: 500, body: { errors: ['1 error occurred:\n\t* internal error\n\n'] } };
        },
      )
      .then((r) => {
        if (r.status === -1) {
          req.socket.destroy();
          return;
        }
        if (r.body === undefined) {
          res.writeHead(r.status).end();
          return;
        }
        const text = JSON.stringify(r.body);
        res.writeHead(r.status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
        res.end(text);
      })
      .catch(() => req.socket.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    kind: 'emulator',
    url: `http://127.0.0.1:${port}`,
    port,
    rootToken,
    supportsNamespaces: true,
    addToken(policyPrefixes, o = {}) {
      return Promise.resolve(
        issueToken(policyPrefixes, o.ttlSeconds ?? DEFAULT_TOKEN_TTL, 'test', 'auth/token/create'),
      );
    },
    addAppRole(roleId, secretId, policyPrefixes, o = {}) {
      roleCounter += 1;
      appRoles.push({
        roleId,
        secretId,
        policyPrefixes: [...policyPrefixes],
        leaseSeconds: o.leaseSeconds ?? 1200,
        mount: o.mount ?? 'approle',
        roleName: o.roleName ?? `role-${roleCounter}`,
      });
      return Promise.resolve();
    },
    mount(name, o = {}) {
      createMount(name, trimSlashes(o.namespace ?? ''));
      return Promise.resolve();
    },
    putSecret(mount, path, data, o = {}) {
      return Promise.resolve(writeVersion(requireMount(mount, o.namespace ?? ''), trimSlashes(path), data).version);
    },
    deleteVersion(mount, path, version, o = {}) {
      const secret = requireMount(mount, o.namespace ?? '').get(trimSlashes(path));
      if (secret) softDelete(secret, version);
      return Promise.resolve();
    },
    destroyVersion(mount, path, version, o = {}) {
      const secret = requireMount(mount, o.namespace ?? '').get(trimSlashes(path));
      if (secret) destroy(secret, version);
      return Promise.resolve();
    },
    seal(b) {
      sealed = b;
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    failNext(count, status) {
      failures = { remaining: count, status };
    },
    requests: () => log.map((e) => ({ ...e, query: { ...e.query } })),
    clearRequests() {
      log.length = 0;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Whether the container-backed suites can run, and if not, why (for `test(..., { skip })`). */
export async function vaultContainerAvailability(): Promise<
  { available: true } | { available: false; reason: string }
> {
  if (process.env['LATCHKEY_TEST_DOCKER'] !== '1') {
    return { available: false, reason: 'set LATCHKEY_TEST_DOCKER=1 to run against a real Vault container' };
  }
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return { available: true };
  } catch (err) {
    return {
      available: false,
      reason: `no container runtime: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
}

/**
 * Starts a real `hashicorp/vault` dev server (image overridable with
 * LATCHKEY_TEST_VAULT_IMAGE) through testcontainers and gives it the same
 * helpers as the emulator, done through Vault's own API with the root token.
 * Policies are `path "<prefix>*"` with every capability. No namespaces (OSS).
 */
export async function startVaultContainer(): Promise<VaultTestServer> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const rootToken = newToken();
  const image = process.env['LATCHKEY_TEST_VAULT_IMAGE'] ?? 'hashicorp/vault:1.20';
  const container = await new GenericContainer(image)
    .withEnvironment({ VAULT_DEV_ROOT_TOKEN_ID: rootToken, VAULT_DEV_LISTEN_ADDRESS: '0.0.0.0:8200' })
    .withAddedCapabilities('IPC_LOCK')
    .withExposedPorts(8200)
    .withWaitStrategy(Wait.forHttp('/v1/sys/health', 8200).forStatusCode(200))
    .start();
  const url = `http://${container.getHost()}:${container.getMappedPort(8200)}`;
  let policyCounter = 0;
  const approleEnabled = new Set<string>();

  async function call(method: string, path: string, body?: unknown): Promise<Record<string, unknown> | undefined> {
    const res = await fetch(`${url}/v1/${path}`, {
      method,
      headers: { 'X-Vault-Token': rootToken, 'Content-Type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`vault container: ${method} ${path} answered ${res.status}: ${text}`);
    return text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>);
  }

  async function policyFor(prefixes: string[]): Promise<string> {
    policyCounter += 1;
    const name = `latchkey-test-${policyCounter}`;
    const policy = prefixes
      .map((p) => `path "${p}*" { capabilities = ["create", "read", "update", "delete", "list"] }`)
      .join('\n');
    await call('PUT', `sys/policies/acl/${name}`, { policy: policy === '' ? '# none' : policy });
    return name;
  }

  const enc = (p: string) => trimSlashes(p).split('/').map(encodeURIComponent).join('/');
  const noNamespaces = (o: NamespaceOption | undefined) => {
    if (o?.namespace !== undefined && o.namespace !== '')
      throw new Error('vault container: Vault OSS has no namespaces');
  };

  return {
    kind: 'container',
    url,
    rootToken,
    supportsNamespaces: false,
    async addToken(prefixes, o = {}) {
      const policy = await policyFor(prefixes);
      const res = await call('POST', 'auth/token/create', {
        policies: [policy],
        ttl: `${o.ttlSeconds ?? DEFAULT_TOKEN_TTL}s`,
        no_default_policy: false,
      });
      return (res?.['auth'] as { client_token: string }).client_token;
    },
    async addAppRole(roleId, secretId, prefixes, o = {}) {
      const mount = o.mount ?? 'approle';
      if (!approleEnabled.has(mount)) {
        await call('POST', `sys/auth/${enc(mount)}`, { type: 'approle' });
        approleEnabled.add(mount);
      }
      const policy = await policyFor(prefixes);
      policyCounter += 1;
      const role = o.roleName ?? `role-${policyCounter}`;
      const lease = o.leaseSeconds ?? 1200;
      await call('POST', `auth/${enc(mount)}/role/${enc(role)}`, {
        token_policies: [policy],
        token_ttl: `${lease}s`,
        token_max_ttl: `${lease}s`,
      });
      await call('POST', `auth/${enc(mount)}/role/${enc(role)}/role-id`, { role_id: roleId });
      await call('POST', `auth/${enc(mount)}/role/${enc(role)}/custom-secret-id`, { secret_id: secretId });
    },
    async mount(name, o) {
      noNamespaces(o);
      const mounts = (await call('GET', 'sys/mounts')) as Record<string, unknown>;
      const data = (mounts['data'] ?? mounts) as Record<string, unknown>;
      if (data[`${trimSlashes(name)}/`] === undefined) {
        await call('POST', `sys/mounts/${enc(name)}`, { type: 'kv', options: { version: '2' } });
      }
    },
    async putSecret(mount, path, data, o) {
      noNamespaces(o);
      // A fresh KV v2 mount answers "upgrading" for a moment: retry briefly.
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          const res = await call('POST', `${enc(mount)}/data/${enc(path)}`, { data });
          return (res?.['data'] as { version: number }).version;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await delay(100);
        }
      }
    },
    async deleteVersion(mount, path, version, o) {
      noNamespaces(o);
      await call('POST', `${enc(mount)}/delete/${enc(path)}`, { versions: [version] });
    },
    async destroyVersion(mount, path, version, o) {
      noNamespaces(o);
      await call('PUT', `${enc(mount)}/destroy/${enc(path)}`, { versions: [version] });
    },
    async stop() {
      await container.stop();
    },
  };
}
