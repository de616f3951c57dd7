/**
 * What `latchkey import-legacy` does with each key read from a legacy store,
 * decided before anything is written (pure: the command makes the calls).
 * Legacy secrets are mapped to the global scope (seed 001). A key already in
 * global scope is left alone unless `updateExisting` asks for a new version;
 * a key that is no Latchkey key, a value the catalog would refuse, a key the
 * store holds twice or one deleted in its recovery window is reported with
 * the reason and not imported.
 */
import { SECRET_KEY } from '@latchkey/authz';
import type { LegacyRead } from './legacy-store.js';

/** new: put as version 1; new_version: put over an existing key (--update-existing); exists: left alone; skipped: not importable. */
export type ImportOutcome = 'new' | 'new_version' | 'exists' | 'skipped';

export interface PlannedImport {
  key: string;
  outcome: ImportOutcome;
  /** Why it is left alone or skipped. */
  why?: string;
  /** Write-only, for new and new_version only. */
  value?: Buffer;
}

export interface CatalogGlobalKeys {
  /** Present global secrets: key -> current version. */
  present: ReadonlyMap<string, number>;
  /** Deleted global secrets still in their recovery window: key -> recover until. */
  deleted: ReadonlyMap<string, string>;
}

/** Why `key` is not a secret key the catalog accepts (^[A-Za-z0-9._-]{1,253}$, not . or ..), or undefined. */
export function secretKeyProblem(key: string): string | undefined {
  if (SECRET_KEY.test(key)) return undefined;
  if (key === '') return 'an empty key';
  if (key === '.' || key === '..') return `"${key}" is a path segment, which no secret key may be`;
  if (key.length > 253) return `longer than 253 characters (${key.length})`;
  const bad = [...key].find((c) => !/[A-Za-z0-9._-]/.test(c)) ?? '';
  return `it holds ${JSON.stringify(bad)}: a secret key has letters, digits, ".", "_" and "-" only`;
}

/** The report's reason for a key that is no secret key, or undefined for a good one. */
export function invalidKeyReason(key: string): string | undefined {
  const problem = secretKeyProblem(key);
  return problem === undefined ? undefined : `not a valid secret key: ${problem}`;
}

export function planLegacyImport(
  read: LegacyRead,
  catalog: CatalogGlobalKeys,
  opts: { updateExisting: boolean; minValueBytes: number },
): PlannedImport[] {
  const counts = new Map<string, number>();
  for (const e of read.entries) counts.set(e.key, (counts.get(e.key) ?? 0) + 1);
  const planned: PlannedImport[] = read.skipped.map((s) => ({ key: s.key, outcome: 'skipped', why: s.why }));
  const seen = new Set<string>();
  for (const { key, value } of read.entries) {
    if (seen.has(key)) continue;
    seen.add(key);
    const skip = (why: string) => planned.push({ key, outcome: 'skipped', why });
    const keyProblem = invalidKeyReason(key);
    const times = counts.get(key) ?? 1;
    const version = catalog.present.get(key);
    const recoverUntil = catalog.deleted.get(key);
    if (keyProblem !== undefined) skip(keyProblem);
    else if (times > 1) skip(`the store holds it ${times} times, with no way to tell which is current: keep one`);
    else if (value.length === 0) skip('its value is empty');
    else if (value.length < opts.minValueBytes) {
      skip(`its value is ${value.length} byte(s); managed values need at least ${opts.minValueBytes}`);
    } else if (recoverUntil !== undefined) {
      skip(
        `a deleted global secret of this name is recoverable until ${recoverUntil}: restore it (latchkey secret restore ${key} --global) or wait for the window to pass`,
      );
    } else if (version === undefined) planned.push({ key, outcome: 'new', value });
    else if (opts.updateExisting)
      planned.push({ key, outcome: 'new_version', value, why: `global scope has version ${version}` });
    else {
      planned.push({
        key,
        outcome: 'exists',
        why: `global scope has it (version ${version}); --update-existing puts the legacy value as a new version`,
      });
    }
  }
  return planned.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
