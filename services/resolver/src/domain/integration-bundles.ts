import type { ValueSource } from './ports.js';

/** What a lookup found: each integration's bundle, and which of them came from memory. */
export interface BundleLookup {
  bundles: Map<string, string>;
  remembered: Set<string>;
}

/**
 * The bundle of each Vault integration, asked of the catalog once and then
 * remembered. An integration's bundle is set when it is created and never
 * changes (the catalog refuses a change, `vault.bundle_fixed`), nor does its
 * domain, and its id (a UUID the catalog makes) is never given to another
 * integration: a (domain, id) -> bundle answer stays true for as long as the
 * integration exists. Only found integrations are remembered. A deleted
 * integration's reads are refused by the catalog's read itself, which answers
 * only for integrations that exist in the workload's domain; the resolver
 * forgets a remembered answer whose bundle ras then refuses, and asks again
 * (reference-authorization.ts), so a refusal is never explained by a mapping
 * the catalog no longer holds. One `integrationBundles` call fewer per
 * deployment (a gRPC round trip and a query in the catalog): issue 18.
 */
export class IntegrationBundles {
  readonly #known = new Map<string, string>();

  constructor(
    private readonly source: Pick<ValueSource, 'integrationBundles'>,
    /** At most this many answers are kept; the oldest go first. */
    private readonly maxEntries = 10_000,
  ) {}

  /** The bundles of `ids` in `domain`: remembered ones, and the others asked of the catalog (in one call). */
  async lookup(domain: string, ids: readonly string[]): Promise<BundleLookup> {
    const bundles = new Map<string, string>();
    const remembered = new Set<string>();
    const unknown: string[] = [];
    for (const id of ids) {
      const b = this.#known.get(keyOf(domain, id));
      if (b === undefined) unknown.push(id);
      else {
        bundles.set(id, b);
        remembered.add(id);
      }
    }
    if (unknown.length === 0) return { bundles, remembered };
    const asked = await this.source.integrationBundles(domain, unknown);
    for (const id of unknown) {
      const b = asked.get(id);
      if (b === undefined) continue;
      bundles.set(id, b);
      this.#remember(keyOf(domain, id), b);
    }
    return { bundles, remembered };
  }

  forget(domain: string, ids: Iterable<string>): void {
    for (const id of ids) this.#known.delete(keyOf(domain, id));
  }

  #remember(key: string, bundle: string): void {
    this.#known.delete(key);
    this.#known.set(key, bundle);
    if (this.#known.size > this.maxEntries) {
      const oldest = this.#known.keys().next().value;
      if (oldest !== undefined) this.#known.delete(oldest);
    }
  }
}

const keyOf = (domain: string, id: string) => `${domain}\0${id}`;
