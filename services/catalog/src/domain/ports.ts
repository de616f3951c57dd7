import type { PutResult, ScopeName, SecretMeta } from './secret-types.js';

/** Where the value of a current version lives. */
export interface StoredValue {
  version: number;
  backend: string;
  ref: string;
}

/** The managed store (database backend): metadata, versions and the change events, atomically. */
export interface SecretStore {
  /**
   * Adds a version. `writeValue` is called with the new version number while
   * the version is held (inside the transaction): the value is in its backend
   * before the metadata commits, so a committed version always has a value.
   */
  put(input: {
    scope: ScopeName;
    key: string;
    description: string | undefined;
    by: string;
    writeValue: (version: number, txn: unknown) => Promise<{ backend: string; ref: string }>;
  }): Promise<PutResult>;
  list(scope: ScopeName): Promise<SecretMeta[]>;
  delete(scope: ScopeName, key: string, by: string): Promise<SecretMeta | undefined>;
  /** The current version of each (scope, key); absent when missing or deleted. */
  readCurrent(items: { scope: ScopeName; key: string }[]): Promise<Map<string, StoredValue>>;
}

export const storeKey = (scope: ScopeName, key: string): string => `${scope}\u0000${key}`;
