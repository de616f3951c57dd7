/**
 * One Vault host as Latchkey's Vault client talks to it: node-vault set up
 * safely, the token of each request (AppRole login with a cached token, one
 * login again on a plain "permission denied"), and one error mapping.
 *
 * Safety rules kept here so that no caller has to remember them:
 * - Every failure becomes a LatchkeyError whose message names the integration
 *   (or host) and the HTTP status, and never holds the token, the secret ID, a
 *   value, or the library's error object: node-vault's network errors are
 *   AxiosErrors whose `config.headers` carry `X-Vault-Token`, so nothing is
 *   ever attached as `cause`.
 * - node-vault's environment defaults (VAULT_TOKEN, VAULT_NAMESPACE,
 *   VAULT_PREFIX, VAULT_SKIP_VERIFY) and its `debug` output (which prints
 *   request bodies, i.e. values and secret IDs) are switched off.
 * - `LIST` is sent as `GET ?list=1` (node's HTTP parser rejects LIST).
 * - Requests go through vault-transport.ts: no redirect is followed, and
 *   connections go only where the host policy allows.
 */
import vault from 'node-vault';
import { LatchkeyError } from '@latchkey/errors';
import { VaultTokens, type AppRoleAuth, type AppRoleLogin, type VaultAuth } from './vault-auth.js';
import {
  apiFailure,
  mapVaultError,
  unexpectedAnswer,
  type CallContext,
  type ErrorSubject,
  type Op,
} from './vault-client-errors.js';
import type { VaultHostPolicy } from './vault-host-policy.js';
import { encodePath } from './vault-kv2-path.js';
import { vaultRequest } from './vault-transport.js';

export interface VaultHttpClientOptions {
  /** Base URL, e.g. `https://vault.example.com:8200` (no `/v1`). */
  host: string;
  /** Vault Enterprise namespace (`ns1` or `ns1/ns2`), sent as X-Vault-Namespace on every call, login included. */
  namespace?: string;
  auth: VaultAuth;
  /** Per request; default 10 000. */
  timeoutMs?: number;
  /** PEM CA bundle to trust for https hosts (in addition to nothing else: it replaces the default roots). */
  ca?: string | Buffer;
  /** How errors name the integration, e.g. `analytics/team-vault`. Default: the host. */
  integration?: string;
  /** Clock for the AppRole token cache; default Date.now. */
  now?: () => number;
  /**
   * Which hosts may be connected to (team integrations: LATCHKEY_VAULT_ALLOWED_HOSTS).
   * Absent for the platform's own Vault, which the operator configured.
   */
  hostPolicy?: VaultHostPolicy;
  /** Told of each request (an AppRole login it needed included): its operation, seconds, and error code when it failed. */
  observe?: (op: Op, seconds: number, error: string | undefined) => void;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A plain 404 answer, kept only for its body (the soft-deleted read shape). */
export class NotFound {
  constructor(readonly body: unknown) {}
}

/** What one call sends: node-vault's client and the request's headers (its token). */
export type VaultCall = (client: vault.client, requestOptions: { headers: Record<string, string> }) => Promise<unknown>;

/** One host and one set of credentials; safe to share between concurrent callers. */
export class VaultConnection {
  readonly label: string;
  /** Who errors are about, and how their text loses any credential. */
  readonly subject: ErrorSubject;
  readonly #client: vault.client;
  readonly #tokens: VaultTokens;
  readonly #timeoutMs: number;
  readonly #observe: VaultHttpClientOptions['observe'];

  constructor(opts: VaultHttpClientOptions) {
    let url: URL;
    try {
      url = new URL(opts.host);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('protocol');
    } catch {
      throw new LatchkeyError('vault.invalid_host', 'the Vault host must be an http(s) URL like https://vault:8200', {
        kind: 'invalid_argument',
      });
    }
    const origin = url.origin;
    // Refused before anything is built or sent; names are checked again on connect.
    opts.hostPolicy?.checkHost(url.hostname);
    this.label = opts.integration === undefined ? origin : `"${opts.integration}" (${origin})`;
    this.#tokens = new VaultTokens(opts.auth, (auth) => this.#login(auth), opts.now ?? Date.now);
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#observe = opts.observe;
    this.subject = { label: this.label, timeoutMs: this.#timeoutMs, scrub: (text) => this.#scrub(text) };
    this.#client = vault({
      endpoint: origin,
      apiVersion: 'v1',
      noCustomHTTPVerbs: true,
      debug: () => undefined,
      // Our own requests instead of node-vault's axios: no redirect is followed
      // (a 302 would carry X-Vault-Token to another host), and connections go
      // only where the host policy allows.
      'request-promise': { defaults: () => vaultRequest(opts.hostPolicy) },
      requestOptions: {
        timeout: this.#timeoutMs,
        strictSSL: true,
        ...(opts.ca === undefined ? {} : { ca: opts.ca }),
      },
    });
    // Undo node-vault's environment defaults: the token travels per request,
    // and nothing from VAULT_* may redirect or widen a call.
    const raw = this.#client as unknown as { token: string; namespace: string; pathPrefix: string };
    raw.token = '';
    raw.namespace = opts.namespace === undefined ? '' : opts.namespace.replace(/^\/+|\/+$/g, '');
    raw.pathPrefix = '';
  }

  /** Forgets a cached AppRole token (the next call logs in again). */
  forgetToken(): void {
    this.#tokens.forget();
  }

  /** Vault's answer was not of the shape `ctx` expects. */
  unexpected(ctx: CallContext): LatchkeyError {
    return unexpectedAnswer(this.subject, ctx);
  }

  /**
   * Runs one node-vault call with the current token. With AppRole, a plain
   * `permission denied` (token revoked or expired early) logs in again once.
   * A plain 404 (not "no handler for route") comes back as `NotFound` when the
   * caller expects it; every other failure is mapped.
   */
  async call(ctx: CallContext, run: VaultCall, opts: { allow404?: boolean } = {}): Promise<unknown> {
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    try {
      const body = await this.#callOnce(ctx, run, opts);
      this.#observe?.(ctx.op, seconds(), undefined);
      return body;
    } catch (err) {
      this.#observe?.(ctx.op, seconds(), err instanceof LatchkeyError ? err.code : 'vault.error');
      throw err;
    }
  }

  async #callOnce(ctx: CallContext, run: VaultCall, opts: { allow404?: boolean }): Promise<unknown> {
    const settle = (err: unknown): NotFound => {
      const api = apiFailure(err);
      if (opts.allow404 === true && api?.status === 404 && !api.message.startsWith('no handler for route')) {
        return new NotFound(api.body);
      }
      throw mapVaultError(this.subject, err, ctx);
    };
    const token = await this.#tokens.token();
    try {
      return await run(this.#client, { headers: { 'X-Vault-Token': token } });
    } catch (err) {
      const api = apiFailure(err);
      if (!this.#tokens.canLogIn || api?.status !== 403 || api.message !== 'permission denied') {
        return settle(err);
      }
    }
    this.#tokens.refused(token);
    const fresh = await this.#tokens.token();
    try {
      return await run(this.#client, { headers: { 'X-Vault-Token': fresh } });
    } catch (err) {
      return settle(err);
    }
  }

  /** Logs in with AppRole (the tokens' cache calls it once for all concurrent callers). */
  async #login(auth: AppRoleAuth): Promise<AppRoleLogin> {
    const mount = auth.mount ?? 'approle';
    const ctx = { op: 'login' as const, path: `auth/${mount}/login` };
    let body: unknown;
    try {
      body = await this.#client.write(`auth/${encodePath(mount)}/login`, {
        role_id: auth.roleId,
        secret_id: auth.secretId,
      });
    } catch (err) {
      throw mapVaultError(this.subject, err, ctx);
    }
    const a = isRecord(body) ? body['auth'] : undefined;
    const token = isRecord(a) ? a['client_token'] : undefined;
    const lease = isRecord(a) ? a['lease_duration'] : undefined;
    if (typeof token !== 'string' || token === '' || typeof lease !== 'number') throw this.unexpected(ctx);
    return { token, leaseSeconds: lease };
  }

  /** A last guard: no credential text survives in a message even if a path or Vault echoed it. */
  #scrub(text: string): string {
    let out = text;
    for (const s of this.#tokens.secrets) if (s !== undefined && s.length >= 4) out = out.split(s).join('[redacted]');
    return out;
  }
}
