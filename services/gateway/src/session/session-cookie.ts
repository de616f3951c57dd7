import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { gcmDecrypt, gcmEncrypt, type Kek, type KekRingFile } from '@latchkey/crypto';
import { LatchkeyError } from '@latchkey/errors';

/** The console's session cookie: `__Host-` so that it is Secure, host-only and for Path=/ only. */
export const SESSION_COOKIE = '__Host-latchkey_session';

/** What a session holds, inside its encrypted cookie. */
export interface SessionContent {
  /** The caller's own JWT, forwarded to the services exactly as a Bearer token. */
  token: string;
  /** Who the services took the token for when the session began (ras WhoAmI). */
  user: string;
  groups: string[];
  platformAdmin: boolean;
  /** When the session ends (seconds since the epoch): the token's own expiry. */
  exp: number;
  /** The session's random id, to which its CSRF token is bound. */
  sid: string;
  /** How it was made. */
  via: 'link' | 'oidc';
}

/** An opened session and the key id that sealed it. */
export interface OpenedSession extends SessionContent {
  kid: string;
}

const AAD = (purpose: string, kid: string) => Buffer.from(`latchkey-${purpose}-v1|${kid}`, 'utf8');
const csrfKey = (kek: Kek) => Buffer.from(hkdfSync('sha256', kek.key, Buffer.alloc(0), 'latchkey-csrf-v1', 32));

const invalid = () =>
  new LatchkeyError(
    'session.invalid',
    'the console session cookie is not valid (altered, or made with another key): sign in again',
    { kind: 'unauthenticated' },
  );

/**
 * Seals and opens session cookies: AES-256-GCM with the session key ring
 * (the key id in clear, authenticated as associated data), so a cookie
 * cannot be read, altered or made without the key every replica shares.
 */
export class SessionCodec {
  constructor(
    private readonly ring: KekRingFile,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** A new session's content: its id is fresh. */
  static fresh(content: Omit<SessionContent, 'sid'>): SessionContent {
    return { ...content, sid: randomBytes(18).toString('base64url') };
  }

  seal(content: SessionContent): string {
    return this.sealJson('session', content);
  }

  /** Any small JSON value sealed for `purpose` (a box sealed for one purpose does not open as another's). */
  sealJson(purpose: string, content: unknown): string {
    const { id, key } = this.ring.current;
    const blob = gcmEncrypt(key, Buffer.from(JSON.stringify(content), 'utf8'), AAD(purpose, id));
    return `${id}.${blob.toString('base64url')}`;
  }

  /** What sealJson sealed for `purpose`, or undefined when it was not sealed so here. */
  openJson(purpose: string, value: string): { kid: string; content: unknown } | undefined {
    const dot = value.indexOf('.');
    const kid = dot > 0 ? value.slice(0, dot) : '';
    const kek = this.ring.keys.get(kid);
    if (kek === undefined) return undefined;
    try {
      const plain = gcmDecrypt(kek.key, Buffer.from(value.slice(dot + 1), 'base64url'), AAD(purpose, kid));
      return { kid, content: JSON.parse(plain.toString('utf8')) as unknown };
    } catch {
      return undefined;
    }
  }

  /** The session a cookie value holds: `session.invalid` when it was not sealed here, `session.expired` when over. */
  open(value: string): OpenedSession {
    const opened = this.openJson('session', value);
    if (opened === undefined) throw invalid();
    const { kid } = opened;
    const content = opened.content as Partial<SessionContent> | null;
    if (typeof content?.token !== 'string' || typeof content.sid !== 'string' || typeof content.exp !== 'number') {
      throw invalid();
    }
    if (content.exp * 1000 <= this.now().getTime()) {
      throw new LatchkeyError('session.expired', 'the console session has expired: sign in again', {
        kind: 'unauthenticated',
      });
    }
    return { ...(content as SessionContent), kid };
  }

  /** The CSRF token of a session: an HMAC of its id, with a key derived from the one that sealed it. */
  csrfToken(session: OpenedSession): string {
    const kek = this.ring.keys.get(session.kid) ?? this.ring.current;
    return createHmac('sha256', csrfKey(kek)).update(session.sid).digest('base64url');
  }

  /** Whether `given` is the session's CSRF token (compared in constant time). */
  csrfMatches(session: OpenedSession, given: string): boolean {
    const want = Buffer.from(this.csrfToken(session), 'utf8');
    const got = Buffer.from(given, 'utf8');
    return want.length === got.length && timingSafeEqual(want, got);
  }
}

/** The value of cookie `name` in a Cookie header, if there. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** A cookie's Set-Cookie value: HttpOnly, Secure, Path=/ (a `__Host-` name needs both). */
export function cookieHeader(name: string, value: string, maxAgeSec: number, sameSite: 'Strict' | 'Lax'): string {
  return `${name}=${value}; Path=/; HttpOnly; Secure; SameSite=${sameSite}; Max-Age=${Math.max(0, Math.floor(maxAgeSec))}`;
}

/** The Set-Cookie value of a session (or, with `maxAgeSec` 0 and an empty value, its removal). */
export function sessionCookieHeader(value: string, maxAgeSec: number): string {
  return cookieHeader(SESSION_COOKIE, value, maxAgeSec, 'Strict');
}
