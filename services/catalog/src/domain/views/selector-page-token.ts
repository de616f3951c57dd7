import { INTEGRATION_ID } from '@latchkey/events';
import { invalidPageToken, pageTokenOfOtherDomain } from './selector-errors.js';

/**
 * The selector's order: the domain's keys, then global keys (each in the
 * store's key order), then each visible Vault integration's keys (by
 * integration name, then id; keys in code-unit order).
 */
export const Part = { Own: 0, Global: 1, Vault: 2 } as const;
export type Part = (typeof Part)[keyof typeof Part];

/**
 * Where the next page starts: after this entry. A position, not an offset, so
 * that each page costs its own size and keys added or removed between pages
 * never make another key appear twice or not at all.
 */
export interface Cursor {
  domain: string;
  part: Part;
  /** Part.Vault: the integration the key belongs to. */
  integrationName: string;
  integrationId: string;
  key: string;
}

const MAX_TOKEN_LENGTH = 4096;

/** The cursor a page token holds, checked; undefined for '' (the first page). */
export function decodePageToken(token: string, domain: string): Cursor | undefined {
  if (token === '') return undefined;
  if (token.length > MAX_TOKEN_LENGTH) throw invalidPageToken('too long');
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalidPageToken('not readable');
  }
  if (typeof raw !== 'object' || raw === null) throw invalidPageToken('not readable');
  const t = raw as Record<string, unknown>;
  const part = t['p'];
  const key = t['k'];
  const name = t['n'] ?? '';
  const id = t['i'] ?? '';
  if (
    t['v'] !== 1 ||
    typeof t['d'] !== 'string' ||
    (part !== Part.Own && part !== Part.Global && part !== Part.Vault) ||
    typeof key !== 'string' ||
    key === '' ||
    typeof name !== 'string' ||
    typeof id !== 'string' ||
    (part === Part.Vault ? name === '' || !INTEGRATION_ID.test(id) : name !== '' || id !== '')
  ) {
    throw invalidPageToken('not readable');
  }
  if (t['d'] !== domain) throw pageTokenOfOtherDomain(t['d'], domain);
  return { domain, part, integrationName: name, integrationId: id, key };
}

export function encodePageToken(c: Cursor): string {
  const body =
    c.part === Part.Vault
      ? { v: 1, d: c.domain, p: c.part, n: c.integrationName, i: c.integrationId, k: c.key }
      : { v: 1, d: c.domain, p: c.part, k: c.key };
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
}
