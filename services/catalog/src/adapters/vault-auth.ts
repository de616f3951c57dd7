/** How the Vault client authenticates: a static token, or an AppRole login whose token it caches. */

export type VaultAuth =
  | { method: 'token'; token: string }
  | {
      method: 'approle';
      roleId: string;
      secretId: string;
      /** AppRole auth mount, default `approle`. */
      mount?: string;
    };

export type AppRoleAuth = Extract<VaultAuth, { method: 'approle' }>;

/** What an AppRole login gave: the client token and its lease in seconds (0 or less: no expiry). */
export interface AppRoleLogin {
  token: string;
  leaseSeconds: number;
}

/**
 * The token for the next request: the static one, or an AppRole token,
 * logged in once for all concurrent callers and reused until a little before
 * its lease ends (20% of it, at most a minute).
 */
export class VaultTokens {
  readonly #auth: VaultAuth;
  readonly #login: (auth: AppRoleAuth) => Promise<AppRoleLogin>;
  readonly #now: () => number;
  #cached: { token: string; refreshAt: number } | undefined;
  #inflight: Promise<string> | undefined;

  constructor(auth: VaultAuth, login: (auth: AppRoleAuth) => Promise<AppRoleLogin>, now: () => number) {
    this.#auth = auth;
    this.#login = login;
    this.#now = now;
  }

  /** Whether a refused token may be replaced by logging in again. */
  get canLogIn(): boolean {
    return this.#auth.method === 'approle';
  }

  /** The credential texts no message may hold: the token, the secret id, the cached login token. */
  get secrets(): (string | undefined)[] {
    return [this.#cached?.token, this.#auth.method === 'token' ? this.#auth.token : this.#auth.secretId];
  }

  token(): Promise<string> {
    if (this.#auth.method === 'token') return Promise.resolve(this.#auth.token);
    if (this.#cached !== undefined && this.#now() < this.#cached.refreshAt) return Promise.resolve(this.#cached.token);
    const auth = this.#auth;
    this.#inflight ??= this.#logIn(auth).finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  /** `token` was refused: the next call logs in again (unless another caller did meanwhile). */
  refused(token: string): void {
    if (this.#cached?.token === token) this.#cached = undefined;
  }

  forget(): void {
    this.#cached = undefined;
  }

  async #logIn(auth: AppRoleAuth): Promise<string> {
    const { token, leaseSeconds: lease } = await this.#login(auth);
    const leaseMs = lease * 1000;
    const refreshAt = lease <= 0 ? Number.POSITIVE_INFINITY : this.#now() + leaseMs - Math.min(60_000, leaseMs * 0.2);
    this.#cached = { token, refreshAt };
    return token;
  }
}
