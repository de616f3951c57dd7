/** The public shapes of the Vault emulator and of the real-Vault test server. */
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
  /** KV version 1 mounts created at start in the root namespace. Default none. */
  kv1Mounts?: string[];
  /**
   * Serve https (`url` is `https://127.0.0.1:<port>`) with a certificate for
   * 127.0.0.1 and localhost issued by a fresh CA (`ca`), so that a test can
   * make it present a bad certificate (`presentBadCertificate`). Default http.
   */
  tls?: boolean;
  /**
   * The listener's max_request_size: a larger request body is answered 413
   * before it is parsed. Default 32 MiB, Vault's default.
   */
  maxRequestBytes?: number;
}

export interface MountOptions extends NamespaceOption {
  /** The KV engine version; default 2. */
  version?: 1 | 2;
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

export interface DatabaseRoleOptions extends NamespaceOption {
  /** Lease of each credential issued, and the default renewal increment, in seconds. Default 3600. */
  defaultTtlSeconds?: number;
  /** No lease lives longer than this from its issue, renewals included. Default 86400. */
  maxTtlSeconds?: number;
}

/** A lease of the emulator's database secrets engine, as a test sees it. */
export interface EmulatedLease {
  leaseId: string;
  /** '' for the root namespace. */
  namespace: string;
  mount: string;
  role: string;
  username: string;
  /** The issued password: tests scan for it (canary), nothing else should hold it. */
  password: string;
  issuedAt: Date;
  expiresAt: Date;
  lastRenewal: Date | undefined;
  renewals: number;
  state: 'active' | 'revoked' | 'expired';
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
  /** Creates a KV mount, v2 unless `opts.version` says 1 (and its namespace). Idempotent. */
  mount(name: string, opts?: MountOptions): Promise<void>;
  /** Writes a new version directly (no token, no log entry on the emulator). Returns the version (1 on a KV v1 mount). */
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
  /** With `tls: true`: the PEM of the CA that issued the emulator's good certificate (trust it, and only it). */
  readonly ca?: string;
  /**
   * Test-only, with `tls: true`: from now on the emulator presents a bad
   * certificate: `untrusted` (right names, issued by a CA nobody trusts),
   * `wrong-host` (issued by `ca`, for vault.invalid only) or `expired`
   * (issued by `ca`, expired yesterday). Open connections are dropped, so
   * every client meets it on its next request. The returned function puts the
   * good certificate back (dropping connections again).
   */
  presentBadCertificate(kind: 'untrusted' | 'wrong-host' | 'expired'): () => void;
  /** 503 `Vault is sealed` on every request while true. */
  seal(sealed: boolean): void;
  /** Delay before every response. */
  setLatency(ms: number): void;
  /**
   * The next `count` requests answer `status` with `{"errors":["injected failure"]}`,
   * or, with `'reset'`, have their connection destroyed without an answer.
   */
  failNext(count: number, status: number | 'reset'): void;
  /**
   * Test-only: every request whose path after `/v1/` (namespace included, e.g.
   * `secret/data/team/`) starts with `pathPrefix` answers `kind` with Vault's
   * error body (403 permission denied, 404 `{"errors":[]}`, 429 rate limit
   * quota exceeded, 500 internal error, 503 Vault is sealed), or with `'hang'`
   * gets no answer until cleared. Stays until the returned function is called.
   */
  injectFault(pathPrefix: string, kind: 403 | 404 | 429 | 500 | 503 | 'hang'): () => void;
  /**
   * Test-only: a role on a database secrets engine mount (the mount is
   * created if new): `GET <mount>/creds/<role>` issues credentials with a
   * lease of `defaultTtlSeconds`, renewable up to `maxTtlSeconds`.
   */
  addDatabaseRole(mount: string, role: string, opts?: DatabaseRoleOptions): void;
  /** Every database lease issued, oldest first, with its state now. */
  leases(): EmulatedLease[];
  /** Moves the emulator's clock forward (database leases expire by it). */
  advanceClock(seconds: number): void;
  /** A copy of the request log, oldest first. */
  requests(): RequestLogEntry[];
  clearRequests(): void;
}
