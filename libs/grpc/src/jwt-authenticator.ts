import { readFile, stat } from 'node:fs/promises';
import { isIPv4, isIPv6 } from 'node:net';
import type * as Jose from 'jose';
import type { JSONWebKeySet, JWTPayload, JWTVerifyGetKey } from 'jose';
import { LatchkeyError } from '@latchkey/errors';
import type { Authenticator, Principal } from './call-context.js';

/** Where the issuer's public keys come from: exactly one of a JWKS URL and a JWKS file. */
export interface JwtAuthenticatorOptions {
  /** The `iss` every token must carry (the OIDC issuer URL). */
  issuer: string;
  /** The `aud` every token must carry (one of them, when it is a list). */
  audience: string;
  jwksUrl?: string;
  jwksFile?: string;
  /** The claim holding the user's groups: a list of strings (a dotted path reaches into objects). Default `groups`. */
  groupsClaim?: string;
  /** The claim holding the user id. Default `sub`. */
  userClaim?: string;
  /** Seconds of clock skew tolerated on `exp`/`nbf`. Default 30. */
  clockToleranceSec?: number;
  /**
   * A JWKS file is looked at again (and reloaded when it changed) at most this
   * often, and at once when a token names a kid it lacks. Default 5000 ms.
   */
  jwksFileRecheckMs?: number;
  /** A JWKS URL is fetched again for an unknown kid at most this often. Default 30000 ms. */
  jwksUrlCooldownMs?: number;
  /** The clock (tests). Default: now. */
  now?: () => Date;
}

/** Asymmetric signatures only: a shared-secret (HS*) or unsigned token is never accepted. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

const USER_ID = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$/;

function refused(reason: string): LatchkeyError {
  return new LatchkeyError('auth.unauthenticated', reason, { kind: 'unauthenticated' });
}

function configError(message: string): LatchkeyError {
  return new LatchkeyError('config.invalid', message, { kind: 'invalid_argument' });
}

/** A short, printable rendering of a value taken from a token's header (a kid), never the token. */
function printable(v: unknown): string {
  return JSON.stringify(
    String(v)
      .replace(/[^\x20-\x7e]/g, '?')
      .slice(0, 64),
  );
}

function claimAt(payload: JWTPayload, path: string): unknown {
  let v: unknown = payload;
  for (const part of path.split('.')) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

function parseJwks(raw: string, file: string): JSONWebKeySet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw configError(`the JWKS file ${file} is not JSON: it must be {"keys": [...]} (LATCHKEY_OIDC_JWKS_FILE)`);
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0) {
    throw configError(`the JWKS file ${file} has no keys: it must be {"keys": [...]} (LATCHKEY_OIDC_JWKS_FILE)`);
  }
  return parsed as JSONWebKeySet;
}

/**
 * The keys of a JWKS file, read again when it changed: looked at every
 * `recheckMs`, and at once when a token names a kid the loaded set lacks, so
 * that a rotated key (added or removed) is picked up without a restart.
 */
async function fileKeySet(jose: typeof Jose, file: string, recheckMs: number): Promise<JWTVerifyGetKey> {
  const versionOf = async (): Promise<string | undefined> => {
    const s = await stat(file).catch(() => undefined);
    return s === undefined ? undefined : `${s.ino}:${s.size}:${s.mtimeMs}`;
  };
  const load = async () => {
    let raw: string;
    let version: string | undefined;
    try {
      version = await versionOf();
      raw = await readFile(file, 'utf8');
    } catch (err) {
      throw configError(
        `cannot read the JWKS file ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): check LATCHKEY_OIDC_JWKS_FILE`,
      );
    }
    return { version, checkedAt: Date.now(), keys: jose.createLocalJWKSet(parseJwks(raw, file)) };
  };
  let current = await load();
  let reloading: Promise<void> | undefined;
  /** Reloads when the file changed since it was read (a file that became unreadable keeps the keys in hand). */
  const refresh = async (): Promise<void> => {
    reloading ??= (async () => {
      const version = await versionOf();
      if (version !== undefined && version !== current.version) current = await load().catch(() => current);
      current.checkedAt = Date.now();
    })().finally(() => (reloading = undefined));
    await reloading;
  };
  return async (header, token) => {
    if (Date.now() - current.checkedAt >= recheckMs) await refresh();
    try {
      return await current.keys(header, token);
    } catch (err) {
      if (!(err instanceof jose.errors.JWKSNoMatchingKey)) throw err;
      const before = current;
      await refresh();
      if (current === before) throw err;
      return current.keys(header, token);
    }
  };
}

/** Why jose refused a token, in words for the caller (never the token). */
function reasonFor(jose: typeof Jose, err: unknown, opts: JwtAuthenticatorOptions, token: string): LatchkeyError {
  const { errors } = jose;
  if (err instanceof errors.JWTExpired) {
    return refused('the token has expired: get a new one (embedded mode: latchkey login)');
  }
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'iss':
        return refused(`the token was not issued by ${opts.issuer} (its iss claim is wrong or missing)`);
      case 'aud':
        return refused(`the token is not meant for ${opts.audience} (its aud claim is wrong or missing)`);
      case 'nbf':
        return refused('the token is not valid yet (nbf is in the future): check the clocks');
      case 'exp':
        return refused('the token has no valid expiry (exp): tokens without one are not accepted');
      default:
        return refused(`the token's ${err.claim} claim is not valid`);
    }
  }
  if (err instanceof errors.JWKSNoMatchingKey) {
    let kid: unknown;
    try {
      kid = jose.decodeProtectedHeader(token).kid;
    } catch {
      kid = undefined;
    }
    return refused(
      kid === undefined
        ? 'the token names no key (kid) and the issuer has several: it cannot be verified'
        : `the token is signed with key ${printable(kid)}, which the issuer's key set does not have`,
    );
  }
  if (err instanceof errors.JWKSMultipleMatchingKeys) {
    return refused('the token names no key (kid) and the issuer has several: it cannot be verified');
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return refused("the token's signature does not verify");
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    return refused(`the token's signing algorithm is not accepted (use one of ${ALGORITHMS.join(', ')})`);
  }
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) {
    return refused('the bearer token is not a well-formed signed JWT');
  }
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) {
    return new LatchkeyError('auth.jwks_unavailable', "the issuer's key set (JWKS) cannot be fetched right now", {
      kind: 'unavailable',
      retryable: true,
    });
  }
  if (err instanceof LatchkeyError) return err;
  return new LatchkeyError('auth.jwks_unavailable', "the issuer's key set (JWKS) cannot be read right now", {
    kind: 'unavailable',
    retryable: true,
  });
}

/**
 * Verifies bearer JWTs against an OIDC issuer's keys (rotation by `kid`) and
 * maps the claims to a user principal: `userClaim` is the id, `groupsClaim`
 * the groups. Every refusal is an `auth.unauthenticated` LatchkeyError whose
 * message says why, never repeating the token.
 */
export async function jwtAuthenticator(opts: JwtAuthenticatorOptions): Promise<Authenticator> {
  if (opts.issuer.trim() === '') throw configError('the OIDC issuer is empty: set LATCHKEY_OIDC_ISSUER');
  if (opts.audience.trim() === '') throw configError('the OIDC audience is empty: set LATCHKEY_OIDC_AUDIENCE');
  const hasUrl = opts.jwksUrl !== undefined && opts.jwksUrl !== '';
  const hasFile = opts.jwksFile !== undefined && opts.jwksFile !== '';
  if (hasUrl === hasFile) {
    throw configError(
      hasUrl
        ? 'set only one of LATCHKEY_OIDC_JWKS_URL and LATCHKEY_OIDC_JWKS_FILE'
        : "set LATCHKEY_OIDC_JWKS_URL (the issuer's jwks_uri) or LATCHKEY_OIDC_JWKS_FILE (a JWKS file)",
    );
  }
  // jose is loaded here, when a service makes its authenticator, not on import: a CLI call verifies no token.
  const jose = await import('jose');
  let keys: JWTVerifyGetKey;
  if (hasUrl) {
    let url: URL;
    try {
      url = new URL(opts.jwksUrl ?? '');
    } catch {
      throw configError(`LATCHKEY_OIDC_JWKS_URL is not a URL: ${printable(opts.jwksUrl)}`);
    }
    // The keys decide who is who: fetched only over TLS. Plain http only to a
    // loopback address (an identity provider on the same machine), where no
    // network lies between to substitute keys; never to a name or another host.
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackAddress(url.hostname))) {
      throw configError(
        `LATCHKEY_OIDC_JWKS_URL must be an https:// URL (plain http:// only to a loopback address such as 127.0.0.1), not ${printable(url.protocol + '//' + url.host)}`,
      );
    }
    keys = jose.createRemoteJWKSet(url, { timeoutDuration: 5000, cooldownDuration: opts.jwksUrlCooldownMs ?? 30_000 });
  } else {
    keys = await fileKeySet(jose, opts.jwksFile ?? '', opts.jwksFileRecheckMs ?? 5000);
  }
  const groupsClaim = opts.groupsClaim || 'groups';
  const userClaim = opts.userClaim || 'sub';
  const clockTolerance = opts.clockToleranceSec ?? 30;

  return async (token: string): Promise<Principal> => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jose.jwtVerify(token, keys, {
        issuer: opts.issuer,
        audience: opts.audience,
        algorithms: ALGORITHMS,
        requiredClaims: ['exp'],
        clockTolerance,
        ...(opts.now ? { currentDate: opts.now() } : {}),
      }));
    } catch (err) {
      throw reasonFor(jose, err, opts, token);
    }
    const id = claimAt(payload, userClaim);
    if (typeof id !== 'string' || !USER_ID.test(id)) {
      throw refused(
        id === undefined
          ? `the token has no ${userClaim} claim to name the user`
          : `the token's ${userClaim} claim is not a user id (letters, digits and . _ @ + -, at most 128)`,
      );
    }
    const rawGroups = claimAt(payload, groupsClaim);
    let groups: string[] = [];
    if (typeof rawGroups === 'string') groups = [rawGroups];
    else if (Array.isArray(rawGroups) && rawGroups.every((g) => typeof g === 'string')) groups = rawGroups;
    else if (rawGroups !== undefined && rawGroups !== null) {
      throw refused(`the token's ${groupsClaim} claim must be a list of group names`);
    }
    return { id, kind: 'user', groups: [...new Set(groups.filter((g) => g !== ''))] };
  };
}

/** 127.0.0.0/8 or ::1, as URL.hostname gives them (IPv6 in brackets). */
function isLoopbackAddress(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  if (isIPv4(host)) return host.startsWith('127.');
  return isIPv6(host) && (host === '::1' || host === '0:0:0:0:0:0:0:1');
}
