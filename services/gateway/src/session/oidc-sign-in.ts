import * as client from 'openid-client';
import { LatchkeyError } from '@latchkey/errors';
import type { SessionCodec } from './session-cookie.js';

/**
 * The OIDC sign-in's transaction cookie: SameSite=Lax, because the
 * provider sends the browser back with a cross-site top-level navigation,
 * on which a Strict cookie is not sent.
 */
export const OIDC_TX_COOKIE = '__Host-latchkey_oidc';
/** How long a sign-in may take at the provider. */
export const OIDC_TX_TTL_SEC = 10 * 60;

/** What the browser keeps (sealed, in OIDC_TX_COOKIE) between the redirect out and the callback. */
interface OidcTransaction {
  verifier: string;
  state: string;
  nonce: string;
  exp: number;
}

export interface OidcSignInOptions {
  /** LATCHKEY_OIDC_ISSUER: the same issuer the services accept tokens from. */
  issuer: string;
  clientId: string;
  /** A confidential client's secret (client_secret_basic); none: a public client with PKCE. */
  clientSecret?: string | undefined;
  /** The callback URL registered at the provider: `<console URL>/api/v1/session/oidc/callback`. */
  redirectUri: string;
  scopes: string;
  /** Plain-HTTP issuers: only a loopback one (a provider for tests or local development). */
  allowLoopbackHttp?: boolean;
}

const failed = (code: string, message: string) => new LatchkeyError(code, message, { kind: 'unauthenticated' });

const RESTART = 'start again at /api/v1/session/oidc/login';

/**
 * The console's sign-in in scaled mode: the authorization-code flow with
 * PKCE (S256), state and nonce, against the issuer the services trust,
 * with openid-client. The session then holds the access token when it is
 * a JWT (the services verify its issuer, audience and signature), else the
 * ID token.
 */
export class OidcSignIn {
  private constructor(
    private readonly config: client.Configuration,
    private readonly opts: OidcSignInOptions,
    private readonly codec: SessionCodec,
  ) {}

  static async discover(opts: OidcSignInOptions, codec: SessionCodec): Promise<OidcSignIn> {
    const url = new URL(opts.issuer);
    const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
    const http = url.protocol === 'http:';
    if (http && !(loopback && opts.allowLoopbackHttp === true)) {
      throw new LatchkeyError(
        'config.invalid',
        `the OIDC issuer ${opts.issuer} is not HTTPS: the console signs in only with an HTTPS issuer`,
        { kind: 'invalid_argument' },
      );
    }
    let config: client.Configuration;
    try {
      config = await client.discovery(
        url,
        opts.clientId,
        opts.clientSecret,
        opts.clientSecret !== undefined ? client.ClientSecretBasic(opts.clientSecret) : client.None(),
        http ? { execute: [client.allowInsecureRequests] } : {},
      );
    } catch (cause) {
      throw new LatchkeyError(
        'session.oidc_unavailable',
        `cannot read the OIDC discovery document of ${opts.issuer} (${(cause as Error).name}): check LATCHKEY_OIDC_ISSUER`,
        { kind: 'unavailable', cause },
      );
    }
    return new OidcSignIn(config, opts, codec);
  }

  /** The provider's authorization URL, and the sealed transaction cookie value to set beside it. */
  async start(now = new Date()): Promise<{ url: string; transaction: string }> {
    const verifier = client.randomPKCECodeVerifier();
    const tx: OidcTransaction = {
      verifier,
      state: client.randomState(),
      nonce: client.randomNonce(),
      exp: Math.floor(now.getTime() / 1000) + OIDC_TX_TTL_SEC,
    };
    const url = client.buildAuthorizationUrl(this.config, {
      redirect_uri: this.opts.redirectUri,
      scope: this.opts.scopes,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: tx.state,
      nonce: tx.nonce,
    });
    return { url: url.href, transaction: this.codec.sealJson('oidc-tx', tx) };
  }

  /**
   * The callback: the transaction must be this browser's (its cookie), the
   * state must match it, and the code is exchanged with its PKCE verifier.
   * Returns the token the session will hold.
   */
  async finish(query: URLSearchParams, transaction: string | undefined, now = new Date()): Promise<string> {
    // The URL the provider sent the browser to: the registered redirect URI (openid-client sends it on) and its answer.
    const callbackUrl = new URL(this.opts.redirectUri);
    callbackUrl.search = query.toString();
    const opened = transaction === undefined ? undefined : this.codec.openJson('oidc-tx', transaction);
    const tx = opened?.content as Partial<OidcTransaction> | undefined;
    if (typeof tx?.verifier !== 'string' || typeof tx.state !== 'string' || typeof tx.nonce !== 'string') {
      throw failed(
        'session.oidc_no_transaction',
        `this sign-in was not started in this browser (no valid sign-in cookie, so no PKCE verifier): ${RESTART}`,
      );
    }
    if ((tx.exp ?? 0) * 1000 <= now.getTime()) {
      throw failed('session.oidc_expired', `the sign-in took longer than ${OIDC_TX_TTL_SEC / 60} minutes: ${RESTART}`);
    }
    const error = callbackUrl.searchParams.get('error');
    if (error !== null) {
      throw failed(
        'session.oidc_refused',
        `the identity provider refused the sign-in (${error.slice(0, 80)}): ${RESTART}`,
      );
    }
    if (callbackUrl.searchParams.get('state') !== tx.state) {
      throw failed(
        'session.oidc_state_mismatch',
        `the sign-in answer does not belong to this sign-in (state): ${RESTART}`,
      );
    }
    let tokens: client.TokenEndpointResponse;
    try {
      tokens = await client.authorizationCodeGrant(this.config, callbackUrl, {
        pkceCodeVerifier: tx.verifier,
        expectedState: tx.state,
        expectedNonce: tx.nonce,
        idTokenExpected: true,
      });
    } catch (cause) {
      const code = (cause as { error?: unknown; code?: unknown }).error ?? (cause as { code?: unknown }).code;
      throw new LatchkeyError(
        'session.oidc_failed',
        `the identity provider did not complete the sign-in (${typeof code === 'string' ? code.slice(0, 80) : (cause as Error).name}): ${RESTART}`,
        { kind: 'unauthenticated', cause },
      );
    }
    const access = tokens.access_token;
    if (access.split('.').length === 3) return access;
    if (tokens.id_token !== undefined) return tokens.id_token;
    throw failed('session.oidc_failed', 'the identity provider returned neither a JWT access token nor an ID token');
  }
}
