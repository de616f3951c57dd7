/**
 * Where the kubernetes backend keeps a value: which Secret holds a scope, and
 * the data key of each version within it (the scheme is described at the top
 * of kubernetes-value-backend.ts).
 */
import { createHash } from 'node:crypto';

export const SECRET_NAME_PREFIX = 'latchkey-secret-store';

/** Keys up to this length use the plain form `v<version>.<key>`. */
const PLAIN_KEY_MAX = 200;
const HASHED_PREFIX_LENGTH = 100;
const PLAIN_FORM = /^v(0|[1-9][0-9]*)\.(.+)$/;
const HASHED_FORM = /^h(0|[1-9][0-9]*)\..*\.([0-9a-f]{64})$/;

/**
 * The Secret that held a scope's values before each key got its own (the
 * layout of earlier versions, still read and emptied key by key).
 */
export function secretNameFor(scope: string): string {
  if (scope === 'global') return SECRET_NAME_PREFIX;
  // A domain may end in '-', which cannot end a DNS-1123 name; such a domain gets a
  // dotted suffix, which no other domain's Secret name can have (domains hold no dots).
  return scope.endsWith('-') ? `${SECRET_NAME_PREFIX}-${scope}0.trailing-hyphen` : `${SECRET_NAME_PREFIX}-${scope}`;
}

function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

/**
 * The Secret that holds one key's kept versions: the scope's name, a dot and
 * `k` + 40 hex digits of the SHA-256 of the key (a key may hold capitals and
 * `_`, which a Secret name may not; the key itself is in an annotation). A
 * scope's name holds no dot before its last part, so no scope's or key's
 * Secret name is another's.
 */
export function keySecretNameFor(scope: string, key: string): string {
  return `${secretNameFor(scope)}.k${sha256Hex(key).slice(0, 40)}`;
}

/** The data key of one version of a key (see the scheme at the top of the file). */
export function dataKeyFor(key: string, version: number): string {
  if (key.length <= PLAIN_KEY_MAX) return `v${version}.${key}`;
  return `h${version}.${key.slice(0, HASHED_PREFIX_LENGTH)}.${sha256Hex(key)}`;
}

/** The version a data key holds when it belongs to `key`; undefined otherwise. */
export function versionIn(dataKey: string, key: string, keyHash: string | undefined): number | undefined {
  if (keyHash === undefined) {
    const m = PLAIN_FORM.exec(dataKey);
    return m !== null && m[2] === key ? Number(m[1]) : undefined;
  }
  const m = HASHED_FORM.exec(dataKey);
  return m !== null && m[2] === keyHash ? Number(m[1]) : undefined;
}

/** What identifies a long key's data keys (its hash); undefined for a key in the plain form. */
export function keyHashOf(key: string): string | undefined {
  return key.length <= PLAIN_KEY_MAX ? undefined : sha256Hex(key);
}

export function versionsOf(data: Record<string, string>, key: string): { dataKey: string; version: number }[] {
  const keyHash = keyHashOf(key);
  const out: { dataKey: string; version: number }[] = [];
  for (const dataKey of Object.keys(data)) {
    const version = versionIn(dataKey, key, keyHash);
    if (version !== undefined) out.push({ dataKey, version });
  }
  return out;
}

export function decodedSize(data: Record<string, string>): number {
  let total = 0;
  for (const v of Object.values(data)) total += Buffer.byteLength(v, 'base64');
  return total;
}
