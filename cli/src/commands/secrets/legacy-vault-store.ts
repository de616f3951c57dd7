/**
 * The V1 `vault` store (seed 002): a KV v2 path like /v1/secret/data/iomete/poc
 * with one secret per key directly under it (`iomete/poc/EXAMPLE_KEY`, data
 * `{"value": "..."}`). One list of `<mount>/metadata/<base>?list=true`, then
 * one read of `<mount>/data/<base>/<key>` per key, with the token (from stdin
 * or a file) in X-Vault-Token. Plain node:http(s): no redirect is followed
 * (a 3xx would carry the token elsewhere), and an error keeps only a status,
 * Vault's error text and a network code, never the request.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { UsageError } from '../../output/cli-errors.js';
import { invalidKeyReason } from './legacy-import-plan.js';
import { legacyStoreError, networkCode, type LegacyRead, type LegacySkip, type LegacyStore } from './legacy-store.js';

const TIMEOUT_MS = 10_000;
const MAX_BODY_BYTES = 8 * 1024 * 1024;
const PATH_EXAMPLE = 'a V1 Vault path looks like /v1/secret/data/iomete/poc';

interface Answer {
  status: number;
  body: unknown;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `/v1/<mount>/data/<base>` split at its first `data` segment, each segment URL-encoded. */
function kv2Parts(path: string): { mount: string; base: string } {
  const segments = path.split('/').filter((s) => s !== '');
  if (segments[0] === 'v1') segments.shift();
  const at = segments.indexOf('data');
  if (at < 1 || segments.some((s) => s === '.' || s === '..')) {
    throw new UsageError(`--path must be a KV v2 data path with a /data/ segment and no . or ..: ${PATH_EXAMPLE}`);
  }
  const enc = (parts: string[]) => parts.map(encodeURIComponent).join('/');
  return { mount: enc(segments.slice(0, at)), base: enc(segments.slice(at + 1)) };
}

/** Vault's first error text (its errors name paths and reasons, not values), one line, bounded. */
function vaultSays(body: unknown): string | undefined {
  const errors = isObject(body) ? body['errors'] : undefined;
  const first = Array.isArray(errors) ? errors.find((e) => typeof e === 'string' && e.trim() !== '') : undefined;
  return typeof first === 'string' ? first.replace(/\s+/g, ' ').trim().slice(0, 200) : undefined;
}

export function vaultStore(opts: {
  host: string;
  path: string;
  namespace?: string;
  ca?: Buffer;
  token: Buffer;
}): LegacyStore {
  let origin: URL;
  try {
    origin = new URL(opts.host);
    if (origin.protocol !== 'http:' && origin.protocol !== 'https:') throw new Error('protocol');
  } catch {
    throw new UsageError('--host must be the Vault address, an http(s) URL like https://vault.example.com:8200');
  }
  const { mount, base } = kv2Parts(opts.path);
  const store = { kind: 'vault', label: `${opts.path} at ${origin.origin}` };
  const namespace = opts.namespace?.replace(/^\/+|\/+$/g, '');

  const get = (path: string): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const url = new URL(`/v1/${path}`, origin.origin);
      const headers: Record<string, string> = {
        'X-Vault-Token': opts.token.toString('utf8'),
        Accept: 'application/json',
      };
      if (namespace !== undefined && namespace !== '') headers['X-Vault-Namespace'] = namespace;
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(url, { method: 'GET', headers, timeout: TIMEOUT_MS, ...(opts.ca ? { ca: opts.ca } : {}) });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
      req.on('error', (err) =>
        reject(legacyStoreError(store, `no answer from Vault (${networkCode(err) ?? 'unreachable'})`)),
      );
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY_BYTES) req.destroy(Object.assign(new Error('too large'), { code: 'E_TOO_LARGE' }));
          else chunks.push(c);
        });
        res.on('end', () => {
          const text = Buffer.concat(chunks);
          let body: unknown;
          try {
            body = JSON.parse(text.toString('utf8'));
          } catch {
            body = undefined;
          } finally {
            for (const c of chunks) c.fill(0);
          }
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on('error', (err) =>
          reject(legacyStoreError(store, `the answer broke off (${networkCode(err) ?? 'reset'})`)),
        );
      });
      req.end();
    });

  const failure = (what: string, a: Answer): Error => {
    if (a.status === 403) return legacyStoreError(store, `Vault refused the token for ${what} (403 permission denied)`);
    const says = vaultSays(a.body);
    return legacyStoreError(
      store,
      `Vault answered ${what} with HTTP ${a.status}${says === undefined ? '' : `: ${says}`}`,
    );
  };

  const readKey = async (key: string): Promise<{ value: Buffer } | LegacySkip> => {
    const a = await get(`${mount}/data/${base === '' ? '' : `${base}/`}${encodeURIComponent(key)}`);
    const data = isObject(a.body) && isObject(a.body['data']) ? a.body['data'] : undefined;
    if (a.status === 404) {
      // Soft-deleted or destroyed: 404 with the version's metadata; gone since the list: 404 {"errors":[]}.
      return { key, why: data === undefined ? 'it was gone when read' : 'its latest version is deleted or destroyed' };
    }
    if (a.status !== 200) throw failure(`the read of key ${key}`, a);
    const fields = data?.['data'];
    if (!isObject(fields)) return { key, why: 'its latest version is deleted or destroyed' };
    const value = fields['value'];
    if (typeof value === 'string') return { value: Buffer.from(value, 'utf8') };
    const names = Object.keys(fields).slice(0, 10).join(', ');
    return {
      key,
      why:
        value === undefined
          ? `it has no field "value" (a V1 secret is {"value": "..."}; its fields: ${names || 'none'})`
          : 'its field "value" is not a string',
    };
  };

  return {
    ...store,
    async read(): Promise<LegacyRead> {
      const listed = await get(`${mount}/metadata/${base}?list=true`);
      let keys: string[] = [];
      if (listed.status === 200) {
        const data = isObject(listed.body) ? listed.body['data'] : undefined;
        const raw = isObject(data) ? data['keys'] : undefined;
        if (!Array.isArray(raw)) throw legacyStoreError(store, 'Vault answered the list with no keys field');
        keys = raw.filter((k): k is string => typeof k === 'string');
      } else if (!(listed.status === 404 && vaultSays(listed.body) === undefined)) {
        // 404 {"errors":[]} is an empty or missing folder; with a message it is a missing mount.
        throw failure('the list of the path', listed);
      }
      const out: LegacyRead = { entries: [], skipped: [] };
      try {
        for (const key of keys) {
          if (key.endsWith('/')) {
            out.skipped.push({
              key,
              why: 'a folder: V1 kept each secret directly under the path (import it with its own --path)',
            });
            continue;
          }
          // A key that cannot be imported is not read: its value would only be held for nothing.
          const invalid = invalidKeyReason(key);
          if (invalid !== undefined) {
            out.skipped.push({ key, why: invalid });
            continue;
          }
          const got = await readKey(key);
          if ('value' in got) out.entries.push({ key, value: got.value });
          else out.skipped.push(got);
        }
      } catch (err) {
        for (const e of out.entries) e.value.fill(0);
        throw err;
      }
      return out;
    },
  };
}
