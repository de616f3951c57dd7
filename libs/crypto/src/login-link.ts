import { randomUUID } from 'node:crypto';
import { LatchkeyError } from '@latchkey/errors';
import { open, seal, type SealKeyPair, type SealPublicKey, type SealedBox } from './seal.js';

/** The most a login link may live: it is a credential until used, so it is short. */
export const LOGIN_LINK_MAX_TTL_SEC = 5 * 60;

/** The associated data of every login link: a box sealed for anything else does not open as one. */
const BINDING = 'latchkey-login-link-v1';

/** What a login link carries, sealed to the gateways' login-link key: readable by them alone. */
export interface LoginLinkContent {
  /** The user's token, minted by the CLI with the local issuer key; it becomes the session. */
  jwt: string;
  /** The link's id: a gateway accepts it once, across all replicas. */
  jti: string;
  /** When the link stops working (seconds since the epoch), at most LOGIN_LINK_MAX_TTL_SEC from its making. */
  exp: number;
}

/**
 * Seals `jwt` into a login link's code (base64url, for `/login?code=`):
 * the link holds no usable credential, only a box the gateways open.
 */
export function sealLoginLink(
  recipient: SealPublicKey,
  jwt: string,
  opts: { ttlSec?: number; now?: () => Date } = {},
): { code: string; jti: string; expiresAt: Date } {
  const ttl = opts.ttlSec ?? LOGIN_LINK_MAX_TTL_SEC;
  if (!(ttl > 0 && ttl <= LOGIN_LINK_MAX_TTL_SEC)) {
    throw new LatchkeyError('session.link_ttl', `a login link lives at most ${LOGIN_LINK_MAX_TTL_SEC} seconds`, {
      kind: 'invalid_argument',
    });
  }
  const exp = Math.floor((opts.now?.() ?? new Date()).getTime() / 1000) + ttl;
  const content: LoginLinkContent = { jwt, jti: randomUUID(), exp };
  const box = seal(recipient, Buffer.from(JSON.stringify(content), 'utf8'), BINDING);
  return {
    code: Buffer.from(JSON.stringify(box), 'utf8').toString('base64url'),
    jti: content.jti,
    expiresAt: new Date(exp * 1000),
  };
}

const invalid = (why: string): LatchkeyError =>
  new LatchkeyError(
    'session.link_invalid',
    `this login link is not valid (${why}): print a new one with latchkey console --user USER`,
    { kind: 'unauthenticated' },
  );

/**
 * Opens a login link's code with the gateways' key(s). A code that is not
 * a box, was sealed to another key, was altered, or does not hold a login
 * link is refused with `session.link_invalid` (never saying more about it);
 * expiry and one use are the caller's checks (see `exp`, `jti`).
 */
export function openLoginLink(keys: ReadonlyMap<string, SealKeyPair>, code: string): LoginLinkContent {
  let box: SealedBox;
  try {
    const parsed = JSON.parse(Buffer.from(code, 'base64url').toString('utf8')) as Partial<SealedBox> | null;
    if (typeof parsed?.kid !== 'string' || typeof parsed.epk !== 'string' || typeof parsed.box !== 'string') {
      throw new Error('not a box');
    }
    box = { kid: parsed.kid, epk: parsed.epk, box: parsed.box };
  } catch {
    throw invalid('it is not a login code');
  }
  if (!keys.has(box.kid)) throw invalid('it was made for another Latchkey, or with a retired key');
  let plain: Buffer;
  try {
    plain = open(keys, box, BINDING);
  } catch {
    throw invalid('it was altered');
  }
  let content: Partial<LoginLinkContent> | null;
  try {
    content = JSON.parse(plain.toString('utf8')) as Partial<LoginLinkContent> | null;
  } catch {
    content = null;
  }
  if (typeof content?.jwt !== 'string' || typeof content.jti !== 'string' || typeof content.exp !== 'number') {
    throw invalid('it holds no login');
  }
  return { jwt: content.jwt, jti: content.jti, exp: content.exp };
}
