/** One integration's keys as the selector saw them: sorted, or why they could not be listed. */
export type VaultKeyListing = { ok: true; keys: readonly string[] } | { ok: false; reason: string };

export interface VaultKeyListingsOptions {
  /** How long a listing serves the following pages of a selector; default 60 s. */
  maxAgeMs?: number;
  /** At most this many keys are held, over all integrations; default 200,000. */
  maxKeys?: number;
  /** At most this many integrations are held; default 256. */
  maxEntries?: number;
  /** Milliseconds, for tests; default Date.now. */
  now?: () => number;
}

interface Held {
  /** The integration's updatedAt when listed: a change to its settings makes the listing unusable. */
  version: number;
  at: number;
  listing: VaultKeyListing;
  size: number;
}

/**
 * The Vault key listings behind a selector's following pages. Vault lists a
 * path's keys only all at once, so the first page of a selector lists each
 * integration (and puts the listing here) and the following pages read it
 * from here instead of listing again; they fall back to a new listing when
 * it is gone (another replica, evicted, too old), which the selector's
 * position-based page token makes safe. Bounded in age, keys and entries;
 * least recently used first out.
 */
export class VaultKeyListings {
  readonly #held = new Map<string, Held>();
  #keys = 0;
  readonly #maxAgeMs: number;
  readonly #maxKeys: number;
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(options: VaultKeyListingsOptions = {}) {
    this.#maxAgeMs = options.maxAgeMs ?? 60_000;
    this.#maxKeys = options.maxKeys ?? 200_000;
    this.#maxEntries = options.maxEntries ?? 256;
    this.#now = options.now ?? Date.now;
  }

  /** The listing of integration `id` as of settings `updatedAt`, if held and young enough. */
  get(id: string, updatedAt: Date): VaultKeyListing | undefined {
    const held = this.#held.get(id);
    if (!held) return undefined;
    if (held.version !== updatedAt.getTime() || this.#now() - held.at > this.#maxAgeMs) {
      this.#drop(id, held);
      return undefined;
    }
    // Most recently used last.
    this.#held.delete(id);
    this.#held.set(id, held);
    return held.listing;
  }

  set(id: string, updatedAt: Date, listing: VaultKeyListing): void {
    const old = this.#held.get(id);
    if (old) this.#drop(id, old);
    const size = listing.ok ? listing.keys.length : 0;
    if (size > this.#maxKeys) return;
    this.#held.set(id, { version: updatedAt.getTime(), at: this.#now(), listing, size });
    this.#keys += size;
    for (const [oldest, h] of this.#held) {
      if (this.#keys <= this.#maxKeys && this.#held.size <= this.#maxEntries) break;
      this.#drop(oldest, h);
    }
  }

  /** Integrations and keys held (for tests and metrics). */
  get stats(): { entries: number; keys: number } {
    return { entries: this.#held.size, keys: this.#keys };
  }

  #drop(id: string, held: Held): void {
    this.#held.delete(id);
    this.#keys -= held.size;
  }
}
