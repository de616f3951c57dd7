import { LatchkeyError } from '@latchkey/errors';

/** A KV v2 path as integrations carry it: `/v1/<mount>/data/<base>`. */
export interface Kv2Location {
  mount: string;
  /** May be '' (the whole mount). */
  base: string;
}

export const KV2_EXAMPLE = 'a KV v2 path looks like /v1/secret/data/team/app';

/**
 * Splits `/v1/<mount>/data/<base>` (the leading `/v1/` and slashes are
 * optional) at its first `data` segment. Throws `vault.not_kv2` when there is
 * none, `vault.invalid_path` for `.` or `..` segments.
 */
export function parseKv2Path(path: string): Kv2Location {
  const segments = path.split('/').filter((s) => s !== '');
  if (segments[0] === 'v1') segments.shift();
  const i = segments.indexOf('data');
  if (i < 1) {
    throw new LatchkeyError(
      'vault.not_kv2',
      `"${path}" is not a KV v2 data path: it has no /data/ segment; ${KV2_EXAMPLE} ` +
        `(dynamic credentials: a database secrets engine path like /v1/database/creds/<role>)`,
      {
        kind: 'invalid_argument',
      },
    );
  }
  const loc = { mount: segments.slice(0, i).join('/'), base: segments.slice(i + 1).join('/') };
  checkSegments(loc.mount);
  checkSegments(loc.base);
  return loc;
}

function checkSegments(p: string): string[] {
  const segments = p.split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '.' || s === '..')) {
    throw new LatchkeyError('vault.invalid_path', `Vault path "${p}" has a "." or ".." segment`, {
      kind: 'invalid_argument',
    });
  }
  return segments;
}

/** A path's segments, checked and URL-encoded. */
export function encodePath(p: string): string {
  return checkSegments(p).map(encodeURIComponent).join('/');
}
