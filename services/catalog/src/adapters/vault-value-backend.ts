/**
 * The read-write MANAGED backend in a platform-owned Vault (secretStore.type
 * `vault`). Layout: KV v2 `<mount>/data/<base>/<scope>/<KEY>` holding
 * `{"value": "<utf-8 text>"}`, scope being the domain name or `global`.
 * `ref` is Vault's own version number of that path; reads ask for
 * `?version=<ref>`; remove deletes the metadata (every version).
 *
 * Vault keeps 10 versions of a path by default (max_versions): older
 * versions read as undefined, like any version the backend no longer holds.
 *
 * Its size limit is Vault's own (its listener's max_request_size, 32 MiB by
 * default): the backend states none, and Vault's 413 is reported as
 * `secret.value_too_large` naming the vault backend and the size.
 */
import { isUtf8 } from 'node:buffer';
import { isLatchkeyError, LatchkeyError } from '@latchkey/errors';
import { DOMAIN_NAME, GLOBAL_SCOPE, SECRET_KEY } from '@latchkey/events';
import { valueTooLarge } from '../domain/secrets/secret-errors.js';
import type { ValueBackend } from '../domain/value-backend.js';
import { parseKv2Path, VaultHttpClient, type VaultHttpClientOptions } from './vault-http-client.js';

export interface VaultValueBackendOptions extends VaultHttpClientOptions {
  /** Where values live, `/v1/<mount>/data/<base>`, e.g. `/v1/secret/data/latchkey`. */
  path: string;
}

const isScope = (s: string) => s === GLOBAL_SCOPE || DOMAIN_NAME.test(s);
const KEY = SECRET_KEY;

export class VaultValueBackend implements ValueBackend {
  readonly kind = 'vault' as const;
  readonly #client: VaultHttpClient;
  readonly #mount: string;
  readonly #base: string;

  static create(opts: VaultValueBackendOptions): VaultValueBackend {
    const { path, ...clientOpts } = opts;
    return new VaultValueBackend(new VaultHttpClient(clientOpts), path);
  }

  /** `path` as in the options; throws `vault.not_kv2` when it has no `/data/`. */
  constructor(client: VaultHttpClient, path: string) {
    this.#client = client;
    const loc = parseKv2Path(path);
    this.#mount = loc.mount;
    this.#base = loc.base;
  }

  async write(input: { scope: string; key: string; version: number; value: Buffer }): Promise<{ ref: string }> {
    if (!isUtf8(input.value)) {
      throw new LatchkeyError(
        'secret.value_not_text',
        'the vault backend stores values as text: this value is not valid UTF-8',
        { kind: 'invalid_argument' },
      );
    }
    try {
      const { version } = await this.#client.writeKv2(this.#mount, this.#path(input), {
        value: input.value.toString('utf8'),
      });
      return { ref: String(version) };
    } catch (err) {
      if (isLatchkeyError(err) && err.code === 'vault.too_large') {
        throw valueTooLarge('vault', input.value.length, {
          why: "Vault answered 413: the write is larger than its listener's max_request_size",
        });
      }
      throw err;
    }
  }

  async read(input: { scope: string; key: string; version: number; ref: string }): Promise<Buffer | undefined> {
    const ref = Number(input.ref);
    if (!Number.isSafeInteger(ref) || ref < 1) {
      throw new LatchkeyError('vault.invalid_ref', `"${input.ref}" is not a Vault KV version number`, {
        kind: 'internal',
      });
    }
    const secret = await this.#client.readKv2(this.#mount, this.#path(input), ref);
    const value = secret?.data?.['value'];
    return value === undefined ? undefined : Buffer.from(value, 'utf8');
  }

  async remove(input: { scope: string; key: string }): Promise<void> {
    await this.#client.deleteAllKv2(this.#mount, this.#path(input));
  }

  async destroyVersions(input: {
    scope: string;
    key: string;
    versions: { version: number; ref: string }[];
  }): Promise<void> {
    // The refs are Vault's own version numbers of the path; one that is not is nothing Latchkey wrote.
    const refs = input.versions.map((v) => Number(v.ref)).filter((n) => Number.isSafeInteger(n) && n >= 1);
    if (refs.length === 0) return;
    await this.#client.destroyKv2(this.#mount, this.#path(input), refs);
  }

  #path(input: { scope: string; key: string }): string {
    if (!isScope(input.scope)) {
      throw new LatchkeyError('secret.invalid_scope', `"${input.scope}" is not a domain name or global`, {
        kind: 'invalid_argument',
      });
    }
    // "." and ".." pass the key pattern but would be resolved away in a URL path.
    if (!KEY.test(input.key) || input.key === '.' || input.key === '..') {
      throw new LatchkeyError('secret.invalid_key', `"${input.key}" cannot be stored in the vault backend`, {
        kind: 'invalid_argument',
      });
    }
    return [this.#base, input.scope, input.key].filter((s) => s !== '').join('/');
  }
}
