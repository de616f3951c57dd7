/**
 * Reads a team's own Vault (a read-only "VAULT" integration). Built only on
 * `VaultReadOnlyClient`, which has no write method: this file cannot send
 * PUT/POST/PATCH/DELETE to an integration (AppRole login aside, which the
 * client does on its own).
 *
 * Layouts (under the integration's `/v1/<mount>/data/<base>`):
 * - `children` (default): each key is a child secret `<base>/<KEY>` holding `{"value": "..."}`.
 * - `fields`: `<base>` is one secret and each of its fields is a key.
 */
import { LatchkeyError } from '@latchkey/errors';
import { asLatchkeyError, testVaultConnection } from './vault-connection-check.js';
import {
  parseKv2Path,
  readOnlyVaultClient,
  type Kv2Location,
  type VaultHttpClientOptions,
  type VaultReadOnlyClient,
} from './vault-http-client.js';
import type { VaultKeyResult, VaultLayoutName, VaultTestOutcome } from '../domain/vault/vault-integration-types.js';

export type VaultLayout = VaultLayoutName;
export type VaultReadResult = VaultKeyResult;
export type { VaultTestOutcome };

export interface VaultIntegrationReaderOptions extends VaultHttpClientOptions {
  /** The integration's KV v2 path, `/v1/<mount>/data/<base>`. */
  path: string;
  layout?: VaultLayout;
  /** Parallel reads per call; default 8. */
  concurrency?: number;
}

/** Errors after which no further request to the same Vault can succeed in this call. */
const FATAL = new Set([
  'vault.unreachable',
  'vault.tls_failure',
  'vault.auth_failed',
  'vault.sealed',
  'vault.rate_limited',
  'vault.not_kv2',
  'vault.host_not_allowed',
  'vault.redirect_refused',
]);

export class VaultIntegrationReader {
  readonly layout: VaultLayout;
  readonly #client: VaultReadOnlyClient;
  readonly #loc: Kv2Location;
  readonly #concurrency: number;

  /** Throws `vault.not_kv2` when `path` has no `/data/`, and for the `fields` layout without a base path. */
  static create(opts: VaultIntegrationReaderOptions): VaultIntegrationReader {
    const { path, layout, concurrency, ...clientOpts } = opts;
    return new VaultIntegrationReader(readOnlyVaultClient(clientOpts), path, {
      ...(layout === undefined ? {} : { layout }),
      ...(concurrency === undefined ? {} : { concurrency }),
    });
  }

  constructor(client: VaultReadOnlyClient, path: string, opts: { layout?: VaultLayout; concurrency?: number } = {}) {
    this.#client = client;
    this.#loc = parseKv2Path(path);
    this.layout = opts.layout ?? 'children';
    this.#concurrency = Math.max(1, opts.concurrency ?? 8);
    if (this.layout === 'fields' && this.#loc.base === '') {
      throw new LatchkeyError(
        'vault.not_kv2',
        `the fields layout needs a path to one secret, like /v1/secret/data/team/app, not the whole mount`,
        { kind: 'invalid_argument' },
      );
    }
  }

  /** The keys under the path (children layout: child secrets, not folders; fields layout: field names). */
  async listKeys(): Promise<string[]> {
    if (this.layout === 'fields') {
      const secret = await this.#client.readKv2(this.#loc.mount, this.#loc.base);
      return secret?.data == null ? [] : Object.keys(secret.data).sort();
    }
    const names = await this.#client.listKv2(this.#loc.mount, this.#loc.base);
    return names.filter((n) => !n.endsWith('/'));
  }

  /**
   * Latest values of the given keys, each with Vault's version number, or the
   * error for that key. One read per distinct key (children) or one read in
   * all (fields). After an error that concerns the whole Vault (unreachable,
   * TLS, credentials, sealed, not KV v2) the keys not yet read get that error
   * without further requests.
   */
  async read(keys: string[]): Promise<Map<string, VaultReadResult>> {
    const distinct = [...new Set(keys)];
    const out = new Map<string, VaultReadResult>();
    if (this.layout === 'fields') {
      let secret;
      try {
        secret = await this.#client.readKv2(this.#loc.mount, this.#loc.base);
      } catch (err) {
        const error = asLatchkeyError(err);
        for (const k of distinct) out.set(k, { error });
        return out;
      }
      for (const k of distinct) {
        const value = secret?.data?.[k];
        out.set(
          k,
          secret === undefined || value === undefined
            ? { error: this.#missing(k, secret?.deleted === true) }
            : { value: Buffer.from(value, 'utf8'), version: secret.version },
        );
      }
      return out;
    }
    let fatal: LatchkeyError | undefined;
    await forEachLimited(distinct, this.#concurrency, async (k) => {
      if (fatal !== undefined) {
        out.set(k, { error: fatal });
        return;
      }
      out.set(k, await this.#readChild(k));
      const r = out.get(k);
      if (r !== undefined && 'error' in r && FATAL.has(r.error.code)) fatal ??= r.error;
    });
    return out;
  }

  /**
   * Current KV version of each key, from metadata (for the version watch).
   * Keys that no longer exist or cannot be read are left out; an error that
   * concerns the whole Vault is thrown, so the watcher retries next round.
   * With the fields layout every key reports the one secret's version.
   */
  async currentVersions(keys: string[]): Promise<Map<string, number>> {
    const distinct = [...new Set(keys)];
    const out = new Map<string, number>();
    if (this.layout === 'fields') {
      const meta = await this.#client.metadataKv2(this.#loc.mount, this.#loc.base);
      if (meta !== undefined) for (const k of distinct) out.set(k, meta.currentVersion);
      return out;
    }
    let fatal: LatchkeyError | undefined;
    await forEachLimited(distinct, this.#concurrency, async (k) => {
      if (fatal !== undefined) return;
      try {
        const meta = await this.#client.metadataKv2(this.#loc.mount, this.#child(k));
        if (meta !== undefined) out.set(k, meta.currentVersion);
      } catch (err) {
        const error = asLatchkeyError(err);
        if (FATAL.has(error.code)) fatal ??= error;
      }
    });
    if (fatal !== undefined) throw fatal;
    return out;
  }

  /** Logs in (AppRole) or looks up the token, then lists the path; never throws. */
  test(): Promise<VaultTestOutcome> {
    return testVaultConnection(this.#client, async () => ({ outcome: 'ok', keys: (await this.listKeys()).length }));
  }

  async #readChild(key: string): Promise<VaultReadResult> {
    try {
      const secret = await this.#client.readKv2(this.#loc.mount, this.#child(key));
      if (secret === undefined || secret.data === null) return { error: this.#missing(key, secret?.deleted === true) };
      const value = secret.data['value'];
      if (value === undefined) {
        return {
          error: new LatchkeyError(
            'vault.no_value_field',
            `Vault integration ${this.#client.label}: the secret for key "${key}" has no "value" field ` +
              `(it has: ${Object.keys(secret.data).sort().join(', ') || 'no fields'}); ` +
              `use the fields layout if each field is a key`,
            { kind: 'failed_precondition', details: { key } },
          ),
        };
      }
      return { value: Buffer.from(value, 'utf8'), version: secret.version };
    } catch (err) {
      return { error: asLatchkeyError(err) };
    }
  }

  #child(key: string): string {
    if (key === '' || key.includes('/') || key === '.' || key === '..') {
      throw new LatchkeyError('vault.invalid_key', `"${key}" is not a key name`, { kind: 'invalid_argument' });
    }
    return this.#loc.base === '' ? key : `${this.#loc.base}/${key}`;
  }

  #missing(key: string, deleted: boolean): LatchkeyError {
    const where =
      this.layout === 'fields' ? `field "${key}" of ${this.#loc.mount}/data/${this.#loc.base}` : `key "${key}"`;
    return new LatchkeyError(
      'vault.not_found',
      `Vault integration ${this.#client.label}: ${where} ${deleted ? 'has its latest version deleted' : 'does not exist'}`,
      { kind: 'not_found', details: { key } },
    );
  }
}

async function forEachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
