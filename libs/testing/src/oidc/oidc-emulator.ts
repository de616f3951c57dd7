import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';

/** Who the emulator signs in at its next authorize request (there is no login form). */
export interface OidcUser {
  sub: string;
  groups?: string[];
}

export interface OidcEmulatorOptions {
  /** The registered client. */
  clientId: string;
  /** Its secret (client_secret_basic or _post); none: a public client, PKCE only. */
  clientSecret?: string;
  /** The redirect URIs the client registered: any other is refused. */
  redirectUris: string[];
  /** The `aud` of the access tokens it issues (the services' LATCHKEY_OIDC_AUDIENCE). */
  audience: string;
  /** Lifetime of its tokens, in seconds (default 3600). */
  ttlSec?: number;
}

/** One token request the emulator answered (or refused), for assertions. */
export interface OidcTokenRequest {
  status: number;
  error?: string;
}

/**
 * A small OpenID Connect provider for tests: discovery, the authorization
 * endpoint (authorization-code flow, PKCE S256 required, state and nonce
 * passed through), the token endpoint and a JWKS, its tokens ES256-signed
 * with a key made at start, so the services' JWT check (LATCHKEY_OIDC_ISSUER
 * = `issuer`, LATCHKEY_OIDC_JWKS_URL = `jwksUri`) accepts them.
 */
export interface OidcEmulator {
  issuer: string;
  jwksUri: string;
  /** Whom the next authorize request signs in. */
  user: OidcUser;
  tokenRequests: OidcTokenRequest[];
  close(): Promise<void>;
}

interface PendingCode {
  clientId: string;
  redirectUri: string;
  challenge: string;
  nonce?: string;
  user: OidcUser;
  expiresAt: number;
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
};

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8').on('data', (d: string) => (text += d));
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });

const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

export async function startOidcEmulator(opts: OidcEmulatorOptions): Promise<OidcEmulator> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const kid = randomBytes(8).toString('hex');
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  const codes = new Map<string, PendingCode>();
  const tokenRequests: OidcTokenRequest[] = [];
  const ttl = opts.ttlSec ?? 3600;
  let issuer = '';
  const emulator: OidcEmulator = {
    issuer: '',
    jwksUri: '',
    user: { sub: 'alice' },
    tokenRequests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };

  const sign = (key: typeof privateKey, claims: Record<string, unknown>, sub: string, aud: string) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience(aud)
      .setSubject(sub)
      .setIssuedAt(now)
      .setExpirationTime(now + ttl)
      .sign(key);
  };

  const authorize = (url: URL, res: ServerResponse) => {
    const q = url.searchParams;
    const clientId = q.get('client_id') ?? '';
    const redirectUri = q.get('redirect_uri') ?? '';
    if (clientId !== opts.clientId || !opts.redirectUris.includes(redirectUri)) {
      // Never redirect to an unregistered URI.
      return json(res, 400, { error: 'invalid_request', error_description: 'unknown client or redirect_uri' });
    }
    const back = new URL(redirectUri);
    const state = q.get('state');
    if (state !== null) back.searchParams.set('state', state);
    const challenge = q.get('code_challenge');
    if (q.get('response_type') !== 'code' || challenge === null || q.get('code_challenge_method') !== 'S256') {
      back.searchParams.set('error', 'invalid_request');
      back.searchParams.set('error_description', 'the code flow with PKCE S256 is required');
    } else {
      const code = randomBytes(24).toString('base64url');
      const nonce = q.get('nonce');
      codes.set(code, {
        clientId,
        redirectUri,
        challenge,
        ...(nonce !== null ? { nonce } : {}),
        user: { ...emulator.user },
        expiresAt: Date.now() + 60_000,
      });
      back.searchParams.set('code', code);
      back.searchParams.set('iss', issuer);
    }
    res.writeHead(302, { location: back.href });
    res.end();
  };

  const token = async (req: IncomingMessage, res: ServerResponse) => {
    const refuse = (status: number, error: string, description: string) => {
      tokenRequests.push({ status, error });
      json(res, status, { error, error_description: description });
    };
    const form = new URLSearchParams(await readBody(req));
    let clientId = form.get('client_id') ?? '';
    let secret = form.get('client_secret') ?? undefined;
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (basic !== undefined) {
      const [id, s] = Buffer.from(basic, 'base64').toString('utf8').split(':').map(decodeURIComponent);
      clientId = id ?? '';
      secret = s;
    }
    if (clientId !== opts.clientId || (opts.clientSecret !== undefined && secret !== opts.clientSecret)) {
      return refuse(401, 'invalid_client', 'client authentication failed');
    }
    if (form.get('grant_type') !== 'authorization_code') return refuse(400, 'unsupported_grant_type', 'code only');
    const code = form.get('code') ?? '';
    const pending = codes.get(code);
    codes.delete(code);
    if (pending === undefined || pending.expiresAt < Date.now() || pending.clientId !== clientId) {
      return refuse(400, 'invalid_grant', 'unknown, used or expired code');
    }
    if (form.get('redirect_uri') !== pending.redirectUri) return refuse(400, 'invalid_grant', 'redirect_uri differs');
    const verifier = form.get('code_verifier');
    if (verifier === null || verifier === '') return refuse(400, 'invalid_grant', 'code_verifier is required (PKCE)');
    if (s256(verifier) !== pending.challenge) return refuse(400, 'invalid_grant', 'code_verifier does not match');
    const { sub, groups } = pending.user;
    const claims = groups !== undefined ? { groups } : {};
    const accessToken = await sign(privateKey, claims, sub, opts.audience);
    const idToken = await sign(
      privateKey,
      { ...claims, ...(pending.nonce !== undefined ? { nonce: pending.nonce } : {}) },
      sub,
      opts.clientId,
    );
    tokenRequests.push({ status: 200 });
    json(res, 200, { access_token: accessToken, id_token: idToken, token_type: 'Bearer', expires_in: ttl });
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /.well-known/openid-configuration') {
      return json(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        grant_types_supported: ['authorization_code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['ES256'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
        scopes_supported: ['openid', 'profile', 'email'],
      });
    }
    if (route === 'GET /jwks') return json(res, 200, { keys: [publicJwk] });
    if (route === 'GET /authorize') return authorize(url, res);
    if (route === 'POST /token') {
      token(req, res).catch(() => json(res, 500, { error: 'server_error' }));
      return;
    }
    json(res, 404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  emulator.issuer = issuer;
  emulator.jwksUri = `${issuer}/jwks`;
  return emulator;
}
