/**
 * Where managed values live: exactly one backend per deployment of Latchkey
 * (config `secretStore.type`: database | kubernetes | vault), the same for
 * every domain. Metadata, version numbers and who/when always live in the
 * catalog's own database; a backend holds only values.
 *
 * Scope is a domain name or `global`. Versions are the catalog's numbers
 * (1, 2, 3 ...). `ref` is what the backend needs to find a version again
 * (e.g. Vault's own KV version number); the catalog stores it beside the
 * version and hands it back on read.
 */
export interface ValueBackend {
  readonly kind: 'database' | 'kubernetes' | 'vault';
  /**
   * The largest value this backend stores, and why, checked before a put
   * (`secret.value_too_large` names the backend, the limit and the size).
   * Absent: the backend itself answers (Vault: its request size limit, a
   * 413, reported as `secret.value_too_large` too).
   */
  readonly valueLimit?: ValueLimit;
  /**
   * Stores one version's value; returns the backend reference to keep.
   * `txn` is the catalog's open database transaction (opaque here): the
   * database backend joins it so value and metadata commit together; other
   * backends ignore it.
   */
  write(input: { scope: string; key: string; version: number; value: Buffer; txn?: unknown }): Promise<{ ref: string }>;
  /** Reads one version; undefined when the backend no longer holds it. */
  read(input: { scope: string; key: string; version: number; ref: string }): Promise<Buffer | undefined>;
  /** Removes every version of a key (a delete). Idempotent. */
  remove(input: { scope: string; key: string }): Promise<void>;
  /**
   * Destroys the listed versions of a key for good (`ref` as `write` returned
   * it): versions beyond the kept count, a deleted secret's after its
   * recovery window. Other versions stay. Idempotent.
   */
  destroyVersions(input: { scope: string; key: string; versions: { version: number; ref: string }[] }): Promise<void>;
}

/** A backend's stated limit on one value. */
export interface ValueLimit {
  bytes: number;
  /** Where the limit comes from, for the error, e.g. "the setting LATCHKEY_MAX_VALUE_BYTES". */
  why: string;
}
