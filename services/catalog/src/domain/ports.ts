import type { PutResult, ScopeName, SecretMeta } from './secret-types.js';

/** An encrypted value as the store keeps it. */
export interface StoredValue {
  version: number;
  kekId: string;
  wrappedDek: Buffer;
  ciphertext: Buffer;
}

/** The managed store (database backend): metadata, versions and the change events, atomically. */
export interface SecretStore {
  /**
   * Adds a version. `encrypt` is called with the version number inside the
   * transaction (the version is part of the ciphertext's associated data).
   */
  put(input: {
    scope: ScopeName;
    key: string;
    description: string | undefined;
    by: string;
    encrypt: (version: number) => Omit<StoredValue, 'version'>;
  }): Promise<PutResult>;
  list(scope: ScopeName): Promise<SecretMeta[]>;
  delete(scope: ScopeName, key: string, by: string): Promise<SecretMeta | undefined>;
  /** The current version of each (scope, key); absent when missing or deleted. */
  readCurrent(items: { scope: ScopeName; key: string }[]): Promise<Map<string, StoredValue>>;
}

export const storeKey = (scope: ScopeName, key: string): string => `${scope}\u0000${key}`;
