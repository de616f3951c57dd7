/**
 * What `latchkey import-legacy` reads from one V1 secret store (seed 002:
 * the `secret_store` table, the Kubernetes Secret `iomete-secret-store`, a
 * Vault KV v2 path with one folder per key): its keys and values, and what in
 * it cannot be a key at all. A reader reads the whole store before anything
 * is written, so a store that cannot be read changes nothing; its errors name
 * the store and the failure, never a credential or a value.
 */
import { CliError } from '../../output/cli-errors.js';

/** One key of a legacy store. */
export interface LegacyEntry {
  key: string;
  /** Write-only: put once, zeroed after, never printed. */
  value: Buffer;
}

/** Something in the store that is no key and value (a folder, a NULL, a field of another shape), and why. */
export interface LegacySkip {
  key: string;
  why: string;
}

export interface LegacyRead {
  entries: LegacyEntry[];
  skipped: LegacySkip[];
}

/** What a reader is pointed at: a description for messages and audit (never a credential). */
export interface LegacyStore {
  /** `database`, `kubernetes` or `vault`. */
  kind: string;
  /** e.g. `table public.secret_store of postgres://app@db:5432/iomete`. */
  label: string;
  read(): Promise<LegacyRead>;
}

/** The store could not be reached, refused, or is not what a V1 store looks like. */
export function legacyStoreError(store: Pick<LegacyStore, 'kind' | 'label'>, failure: string): CliError {
  return new CliError(`cannot read the legacy ${store.kind} store (${store.label}): ${failure}; nothing was imported`, {
    code: 'cli.legacy_store_unreadable',
  });
}

/** A network error's code (ECONNREFUSED, ETIMEDOUT, ...) and nothing else of it: messages may carry headers. */
export function networkCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
