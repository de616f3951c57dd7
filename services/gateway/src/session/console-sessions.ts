import { LOGIN_LINK_MAX_TTL_SEC, openLoginLink, type KekRingFile, type SealKeyPair } from '@latchkey/crypto';
import { LatchkeyError } from '@latchkey/errors';
import type { LinkRedemptions } from './link-redemptions.js';
import type { OidcSignIn } from './oidc-sign-in.js';
import { SessionCodec, type OpenedSession, type SessionContent } from './session-cookie.js';

/** Who a token is, as the services see it (ras WhoAmI called with the token). */
export type WhoAmI = (
  token: string,
) => Promise<{ principal: string; groups: readonly string[]; platformAdmin: boolean }>;

/** A clock skew tolerated between the CLI that made a link and the gateway that opens it. */
const SKEW_SEC = 60;

export interface ConsoleSessionsDeps {
  sessionKeys: KekRingFile;
  /** Embedded mode's login links: the keys they are sealed to, and where their use is recorded. */
  links?: { keys: ReadonlyMap<string, SealKeyPair>; redemptions: LinkRedemptions };
  /** Scaled mode's sign-in with the identity provider (made with this codec: see withOidc). */
  oidc?: (codec: SessionCodec) => Promise<OidcSignIn>;
  now?: () => Date;
}

/** The `exp` claim of a JWT, read (not verified: the services verify the token on every call). */
function tokenExpiry(token: string): number | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
      exp?: unknown;
    };
    return typeof payload.exp === 'number' ? payload.exp : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The console's sessions: made from a one-time login link (embedded mode)
 * or an OIDC sign-in (scaled mode), held in an encrypted cookie, ending
 * with the token inside. The gateway decides no access: a session is only
 * the caller's own token, kept for the browser.
 */
export class ConsoleSessions {
  readonly codec: SessionCodec;
  private readonly now: () => Date;
  /** Scaled mode's OIDC sign-in, when configured. */
  oidc: OidcSignIn | undefined;

  private constructor(private readonly deps: ConsoleSessionsDeps) {
    this.now = deps.now ?? (() => new Date());
    this.codec = new SessionCodec(deps.sessionKeys, this.now);
  }

  /** The sessions, with the OIDC provider's discovery read when one is configured. */
  static async create(deps: ConsoleSessionsDeps): Promise<ConsoleSessions> {
    const sessions = new ConsoleSessions(deps);
    if (deps.oidc !== undefined) sessions.oidc = await deps.oidc(sessions.codec);
    return sessions;
  }

  get acceptsLinks(): boolean {
    return this.deps.links !== undefined;
  }

  /**
   * Opens a login link, refuses it when expired or used before (on any
   * replica), asks the services who its token is, and returns the session.
   */
  async fromLoginLink(code: string, whoAmI: WhoAmI): Promise<SessionContent> {
    const links = this.deps.links;
    if (links === undefined) {
      throw new LatchkeyError(
        'session.links_disabled',
        'this gateway takes no login links (LATCHKEY_LOGIN_LINK_KEY_FILE is not set): sign in with your identity provider',
        { kind: 'failed_precondition' },
      );
    }
    const link = openLoginLink(links.keys, code);
    const nowSec = Math.floor(this.now().getTime() / 1000);
    if (link.exp <= nowSec) {
      throw new LatchkeyError(
        'session.link_expired',
        'this login link has expired (a link works for 5 minutes): print a new one with latchkey console --user USER',
        { kind: 'unauthenticated' },
      );
    }
    if (link.exp > nowSec + LOGIN_LINK_MAX_TTL_SEC + SKEW_SEC) {
      throw new LatchkeyError(
        'session.link_invalid',
        'this login link is not valid (it claims to live longer than 5 minutes): print a new one with latchkey console --user USER',
        { kind: 'unauthenticated' },
      );
    }
    if ((await links.redemptions.redeem(link.jti, new Date(link.exp * 1000))) === 'used') {
      throw new LatchkeyError(
        'session.link_used',
        'this login link was used already (a link signs in once): print a new one with latchkey console --user USER',
        { kind: 'unauthenticated' },
      );
    }
    return this.fromToken(link.jwt, 'link', whoAmI);
  }

  /** A session holding `token`, once the services have accepted it; it ends when the token does. */
  async fromToken(token: string, via: SessionContent['via'], whoAmI: WhoAmI): Promise<SessionContent> {
    const exp = tokenExpiry(token);
    if (exp === undefined) {
      throw new LatchkeyError('session.token_invalid', 'the sign-in did not yield a JWT with an expiry (exp)', {
        kind: 'unauthenticated',
      });
    }
    // The services verify the token (signature, issuer, audience, expiry) and say who it is.
    const who = await whoAmI(token);
    return SessionCodec.fresh({
      token,
      user: who.principal,
      groups: [...who.groups],
      platformAdmin: who.platformAdmin,
      exp,
      via,
    });
  }

  /** Seconds until a session ends (the cookie's Max-Age). */
  remainingSec(session: SessionContent): number {
    return session.exp - Math.floor(this.now().getTime() / 1000);
  }

  open(value: string): OpenedSession {
    return this.codec.open(value);
  }
}
