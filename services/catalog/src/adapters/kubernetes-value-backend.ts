/**
 * The `kubernetes` managed backend: values live in Opaque Secrets, one per
 * scope, in one configured namespace:
 *
 *   latchkey-secret-store-<domain>   a domain's values
 *   latchkey-secret-store            global values
 *
 * Each Secret holds the newest `keepVersions` versions of each key; older
 * ones are pruned on write. Versions, who and when live in the catalog's
 * database; only values live here.
 *
 * Data key scheme (one data key per key and version). A Secret data key must
 * match `^[-._a-zA-Z0-9]+$`, be at most 253 bytes and not be or start with
 * `..`; a Latchkey key matches `^[A-Za-z0-9._-]{1,253}$`, so the key alone
 * fits but the key plus a version does not always:
 *
 *   v<version>.<key>                   keys of at most 200 characters
 *   h<version>.<first 100 chars>.<sha256(key) hex>   longer keys
 *
 * The version is canonical decimal and cannot contain a dot, so the first dot
 * ends it and the plain form decodes to exactly one (version, key). The
 * leading `v` / `h` says which form (and keeps the name from starting with a
 * dot); which form a key uses depends on its length only, so all versions of
 * a key share one form. The hashed form carries a readable prefix for
 * operators and is identified by the SHA-256 of the whole key. The longest
 * data key is 1 + 16 + 1 + 100 + 1 + 64 = 183 bytes. The data key is the
 * `ref` handed back to the catalog.
 *
 * Concurrent writers: read, modify, replace with the read resourceVersion;
 * a 409 (Conflict, or AlreadyExists when two writers create the Secret)
 * means someone else won, so read again after a jittered, bounded backoff.
 */
import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { LatchkeyError } from '@latchkey/errors';
import { DOMAIN_NAME, SECRET_KEY } from '@latchkey/events';
import type { ValueBackend } from '../domain/value-backend.js';

/** The largest decoded sum of a Secret's data values that the API server accepts. */
export const KUBERNETES_SECRET_LIMIT_BYTES = 1_048_576;

export const SECRET_NAME_PREFIX = 'latchkey-secret-store';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const SCOPE_LABEL = 'latchkey.dev/scope';

const SCOPE = DOMAIN_NAME;
const KEY = SECRET_KEY;
/** Keys up to this length use the plain form `v<version>.<key>`. */
const PLAIN_KEY_MAX = 200;
const HASHED_PREFIX_LENGTH = 100;
const PLAIN_FORM = /^v(0|[1-9][0-9]*)\.(.+)$/;
const HASHED_FORM = /^h(0|[1-9][0-9]*)\..*\.([0-9a-f]{64})$/;

export interface KubernetesValueBackendOptions {
  kubeConfig: KubeConfig;
  /** The namespace holding the store's Secrets. */
  namespace: string;
  /** Versions kept per key; older ones are pruned on write. Default 5. */
  keepVersions?: number;
  /** Read-modify-replace attempts before giving up under contention. Default 20. */
  maxAttempts?: number;
  /** Backoff between attempts: full jitter over min(max, base * 2^n). Defaults 10 and 250 ms. */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Per API call. Default 10000 ms. */
  requestTimeoutMs?: number;
  /** For tests: the jitter source. Default Math.random. */
  random?: () => number;
}

/** The Secret that holds a scope's values. */
export function secretNameFor(scope: string): string {
  if (scope === 'global') return SECRET_NAME_PREFIX;
  // A domain may end in '-', which cannot end a DNS-1123 name; such a domain gets a
  // dotted suffix, which no other domain's Secret name can have (domains hold no dots).
  return scope.endsWith('-') ? `${SECRET_NAME_PREFIX}-${scope}0.trailing-hyphen` : `${SECRET_NAME_PREFIX}-${scope}`;
}

function sha256Hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

/** The data key of one version of a key (see the scheme at the top of the file). */
export function dataKeyFor(key: string, version: number): string {
  if (key.length <= PLAIN_KEY_MAX) return `v${version}.${key}`;
  return `h${version}.${key.slice(0, HASHED_PREFIX_LENGTH)}.${sha256Hex(key)}`;
}

/** The version a data key holds when it belongs to `key`; undefined otherwise. */
function versionIn(dataKey: string, key: string, keyHash: string | undefined): number | undefined {
  if (keyHash === undefined) {
    const m = PLAIN_FORM.exec(dataKey);
    return m !== null && m[2] === key ? Number(m[1]) : undefined;
  }
  const m = HASHED_FORM.exec(dataKey);
  return m !== null && m[2] === keyHash ? Number(m[1]) : undefined;
}

function versionsOf(data: Record<string, string>, key: string): { dataKey: string; version: number }[] {
  const keyHash = key.length <= PLAIN_KEY_MAX ? undefined : sha256Hex(key);
  const out: { dataKey: string; version: number }[] = [];
  for (const dataKey of Object.keys(data)) {
    const version = versionIn(dataKey, key, keyHash);
    if (version !== undefined) out.push({ dataKey, version });
  }
  return out;
}

function decodedSize(data: Record<string, string>): number {
  let total = 0;
  for (const v of Object.values(data)) total += Buffer.byteLength(v, 'base64');
  return total;
}

const number = (n: number) => n.toLocaleString('en-US');

class CallTimeout extends Error {}

/** A 409 from the API server: someone else changed or created the Secret first. */
class Contended extends Error {}

export class KubernetesValueBackend implements ValueBackend {
  readonly kind = 'kubernetes' as const;
  readonly namespace: string;
  // Private fields: the client holds the token, and util.inspect never shows #fields.
  readonly #api: CoreV1Api;
  readonly #keep: number;
  readonly #maxAttempts: number;
  readonly #retryBaseMs: number;
  readonly #retryMaxMs: number;
  readonly #timeoutMs: number;
  readonly #random: () => number;

  constructor(opts: KubernetesValueBackendOptions) {
    this.namespace = opts.namespace;
    this.#api = opts.kubeConfig.makeApiClient(CoreV1Api);
    this.#keep = opts.keepVersions ?? 5;
    this.#maxAttempts = opts.maxAttempts ?? 20;
    this.#retryBaseMs = opts.retryBaseMs ?? 10;
    this.#retryMaxMs = opts.retryMaxMs ?? 250;
    this.#timeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.#random = opts.random ?? Math.random;
    if (!Number.isInteger(this.#keep) || this.#keep < 1) throw new RangeError('keepVersions must be an integer >= 1');
    if (!Number.isInteger(this.#maxAttempts) || this.#maxAttempts < 1) {
      throw new RangeError('maxAttempts must be an integer >= 1');
    }
  }

  async write(input: { scope: string; key: string; version: number; value: Buffer }): Promise<{ ref: string }> {
    const { scope, key, version, value } = input;
    checkInput(scope, key, version);
    const dataKey = dataKeyFor(key, version);
    const encoded = value.toString('base64');
    await this.#mutate(scope, true, (data) => {
      const held = decodedSize(data);
      data[dataKey] = encoded;
      const newestFirst = versionsOf(data, key).sort((a, b) => b.version - a.version);
      for (const old of newestFirst.slice(this.#keep)) delete data[old.dataKey];
      const after = decodedSize(data);
      if (after > KUBERNETES_SECRET_LIMIT_BYTES) throw capacityExceeded(scope, held, after);
      return true;
    });
    return { ref: dataKey };
  }

  async read(input: { scope: string; key: string; version: number; ref: string }): Promise<Buffer | undefined> {
    const { scope, key, version, ref } = input;
    checkInput(scope, key, version);
    const dataKey = ref === '' ? dataKeyFor(key, version) : ref;
    const keyHash = key.length <= PLAIN_KEY_MAX ? undefined : sha256Hex(key);
    if (versionIn(dataKey, key, keyHash) !== version) {
      throw new LatchkeyError('backend.bad_ref', `the stored reference does not name version ${version} of this key`, {
        kind: 'internal',
      });
    }
    const secret = await this.#get(secretNameFor(scope));
    const encoded = secret?.data?.[dataKey];
    return encoded === undefined ? undefined : Buffer.from(encoded, 'base64');
  }

  async remove(input: { scope: string; key: string }): Promise<void> {
    checkInput(input.scope, input.key, 0);
    await this.#mutate(input.scope, false, (data) => {
      const versions = versionsOf(data, input.key);
      for (const v of versions) delete data[v.dataKey];
      return versions.length > 0;
    });
  }

  /**
   * Read, apply `change` to a copy of the data, write back guarded by the read
   * resourceVersion (or create), and start over on a 409. `change` returns
   * false when there is nothing to write; it may throw to abort.
   */
  async #mutate(scope: string, create: boolean, change: (data: Record<string, string>) => boolean): Promise<void> {
    const name = secretNameFor(scope);
    for (let attempt = 1; ; attempt++) {
      const current = await this.#get(name);
      try {
        if (current === undefined) {
          if (!create) return;
          const data: Record<string, string> = {};
          if (!change(data)) return;
          await this.#create(name, scope, data);
          return;
        }
        this.#checkWritable(current, name);
        const data = { ...(current.data ?? {}) };
        if (!change(data)) return;
        await this.#replace(name, scope, current, data);
        return;
      } catch (err) {
        if (!(err instanceof Contended)) throw err;
      }
      if (attempt >= this.#maxAttempts) {
        throw new LatchkeyError(
          'backend.unavailable',
          `gave up after ${attempt} attempts to update Secret "${name}" in namespace "${this.namespace}": ` +
            'concurrent writers kept changing it; try again',
          {
            kind: 'unavailable',
            retryable: true,
            details: { namespace: this.namespace, secret: name, attempts: attempt },
          },
        );
      }
      const ceiling = Math.min(this.#retryMaxMs, this.#retryBaseMs * 2 ** (attempt - 1));
      await delay(Math.floor(this.#random() * ceiling));
    }
  }

  #checkWritable(secret: V1Secret, name: string): void {
    if (secret.metadata?.labels?.[MANAGED_BY_LABEL] !== 'latchkey') {
      throw new LatchkeyError(
        'backend.foreign_secret',
        `Secret "${name}" in namespace "${this.namespace}" exists but is not labelled ${MANAGED_BY_LABEL}=latchkey; ` +
          'Latchkey will not write to a Secret it does not manage',
        { kind: 'failed_precondition', details: { namespace: this.namespace, secret: name } },
      );
    }
    if (secret.immutable === true) {
      throw new LatchkeyError(
        'backend.rejected',
        `Secret "${name}" in namespace "${this.namespace}" is marked immutable; Latchkey cannot update it`,
        { kind: 'failed_precondition', details: { namespace: this.namespace, secret: name } },
      );
    }
  }

  async #get(name: string): Promise<V1Secret | undefined> {
    try {
      return await this.#call(() => this.#api.readNamespacedSecret({ name, namespace: this.namespace }));
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw this.#translate(err, name, 'read');
    }
  }

  async #create(name: string, scope: string, data: Record<string, string>): Promise<void> {
    const body: V1Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: this.namespace, labels: { [MANAGED_BY_LABEL]: 'latchkey', [SCOPE_LABEL]: scope } },
      type: 'Opaque',
      data,
    };
    try {
      await this.#call(() => this.#api.createNamespacedSecret({ namespace: this.namespace, body }));
    } catch (err) {
      if (statusOf(err) === 409) throw new Contended();
      if (statusOf(err) === 404) {
        throw new LatchkeyError(
          'backend.namespace_not_found',
          `namespace "${this.namespace}" does not exist; create it or configure another namespace for the secret store`,
          { kind: 'failed_precondition', details: { namespace: this.namespace } },
        );
      }
      throw this.#translate(err, name, 'create');
    }
  }

  async #replace(name: string, scope: string, current: V1Secret, data: Record<string, string>): Promise<void> {
    const metadata = current.metadata ?? {};
    const body: V1Secret = {
      ...current,
      metadata: {
        ...metadata,
        labels: { ...metadata.labels, [MANAGED_BY_LABEL]: 'latchkey', [SCOPE_LABEL]: scope },
      },
      data,
    };
    delete body.stringData;
    try {
      await this.#call(() => this.#api.replaceNamespacedSecret({ name, namespace: this.namespace, body }));
    } catch (err) {
      // 409 is a stale resourceVersion; 404 means it was deleted since the read: either way, read again.
      if (statusOf(err) === 409 || statusOf(err) === 404) throw new Contended();
      throw this.#translate(err, name, 'update');
    }
  }

  /** Runs one API call with a deadline. */
  async #call<T>(fn: () => Promise<T>): Promise<T> {
    const pending = fn();
    // The call may settle after the deadline: its late rejection must not go unhandled.
    pending.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CallTimeout()), this.#timeoutMs);
    });
    try {
      return await Promise.race([pending, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A safe error for anything the client threw. Only the status, our own words
   * and a network error code go in: ApiException's message carries response
   * headers and its body may echo the request, so neither is kept, and the
   * original error is not attached as a cause.
   */
  #translate(err: unknown, name: string, verb: string): LatchkeyError {
    const ns = this.namespace;
    const status = statusOf(err);
    const details = { namespace: ns, secret: name, ...(status === undefined ? {} : { status }) };
    if (status === 401) {
      return new LatchkeyError(
        'backend.permission_denied',
        `the Kubernetes API did not accept Latchkey's credentials (HTTP 401) for Secrets in namespace "${ns}"; ` +
          'check the service account token',
        { kind: 'permission_denied', details },
      );
    }
    if (status === 403) {
      return new LatchkeyError(
        'backend.permission_denied',
        `the Kubernetes API denied Latchkey permission to ${verb} Secret "${name}" in namespace "${ns}" (HTTP 403); ` +
          'grant its service account get, create and update on secrets in that namespace',
        { kind: 'permission_denied', details },
      );
    }
    if (status === undefined || status === 408 || status === 429 || status >= 500) {
      const why =
        err instanceof CallTimeout
          ? `timed out after ${this.#timeoutMs} ms`
          : status !== undefined
            ? `HTTP ${status}`
            : `network error${networkCode(err)}`;
      return new LatchkeyError(
        'backend.unavailable',
        `the Kubernetes API is unavailable (${why}) for Secret "${name}" in namespace "${ns}"; try again`,
        { kind: 'unavailable', retryable: true, details },
      );
    }
    const reason = statusReason(err);
    return new LatchkeyError(
      'backend.rejected',
      `the Kubernetes API rejected the ${verb} of Secret "${name}" in namespace "${ns}" (HTTP ${status}${reason})`,
      { kind: status === 422 ? 'failed_precondition' : 'internal', details },
    );
  }
}

function checkInput(scope: string, key: string, version: number): void {
  if (scope !== 'global' && !SCOPE.test(scope)) {
    throw new LatchkeyError(
      'backend.invalid_scope',
      'scope must be "global" or a domain name (^[a-z0-9][a-z0-9-]{0,62}$)',
      {
        kind: 'invalid_argument',
      },
    );
  }
  if (!KEY.test(key)) {
    throw new LatchkeyError('backend.invalid_key', 'key must match ^[A-Za-z0-9._-]{1,253}$', {
      kind: 'invalid_argument',
    });
  }
  if (!Number.isSafeInteger(version) || version < 0) {
    throw new LatchkeyError('backend.invalid_version', 'version must be a non-negative integer', {
      kind: 'invalid_argument',
    });
  }
}

function capacityExceeded(scope: string, heldBytes: number, afterBytes: number): LatchkeyError {
  const where = scope === 'global' ? 'global scope' : `domain ${scope}`;
  const held = number(Math.round(heldBytes / 1024));
  const more = number(Math.max(1, Math.ceil((afterBytes - KUBERNETES_SECRET_LIMIT_BYTES) / 1024)));
  return new LatchkeyError(
    'backend.capacity_exceeded',
    `${where} holds ${held} KiB; this value needs ${more} KiB more than fits in its Kubernetes Secret (1 MiB)`,
    {
      kind: 'failed_precondition',
      details: {
        scope,
        heldBytes,
        neededBytes: afterBytes - KUBERNETES_SECRET_LIMIT_BYTES,
        limitBytes: KUBERNETES_SECRET_LIMIT_BYTES,
      },
    },
  );
}

/** The HTTP status of an ApiException (duck-typed: `code` is a number, `body` present). */
function statusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null || !('body' in err) || !('code' in err)) return undefined;
  return typeof err.code === 'number' ? err.code : undefined;
}

/** `: <reason>` from a Status body, when it has a plain one (never the message, which can echo input). */
function statusReason(err: unknown): string {
  if (typeof err !== 'object' || err === null || !('body' in err)) return '';
  const raw = err.body;
  try {
    const body: unknown = typeof raw === 'string' ? JSON.parse(raw) : raw;
    if (typeof body !== 'object' || body === null || !('reason' in body)) return '';
    return typeof body.reason === 'string' && /^[A-Za-z]{1,40}$/.test(body.reason) ? ` ${body.reason}` : '';
  } catch {
    return '';
  }
}

/** ` ECONNREFUSED` and the like, from a network error or its cause. */
function networkCode(err: unknown): string {
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 3; depth++) {
    if ('code' in e && typeof e.code === 'string' && /^E[A-Z_]{2,30}$/.test(e.code)) return ` ${e.code}`;
    e = 'cause' in e ? e.cause : undefined;
  }
  return '';
}
