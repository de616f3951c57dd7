/**
 * The `kubernetes` managed backend: values live in Opaque Secrets, one per
 * key, in one configured namespace:
 *
 *   latchkey-secret-store-<domain>.k<hash>   a domain's key
 *   latchkey-secret-store.k<hash>            a global key
 *
 * (`<hash>`: 40 hex digits of the key's SHA-256, the key itself in the
 * annotation latchkey.dev/key). Each Secret holds the newest `keepVersions`
 * versions of its key; older ones are pruned on write. A Secret holds at most
 * 1 MiB, so one value may be at most 1 MiB / keepVersions (the backend's
 * `valueLimit`), however many keys a domain has. Versions, who and when live
 * in the catalog's database; only values live here.
 *
 * Earlier versions kept a whole scope in one Secret (`latchkey-secret-store-
 * <domain>`, `latchkey-secret-store`), which put every value of a domain
 * times its kept versions under one 1 MiB ceiling. Such a Secret is still
 * read (a version not in its key's Secret is looked up there), a key's next
 * write carries its versions over into the key's Secret and removes them from
 * the old one, and a remove clears both.
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
import { setTimeout as delay } from 'node:timers/promises';
import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { DOMAIN_NAME, GLOBAL_SCOPE, SECRET_KEY } from '@latchkey/events';
import type { ValueBackend, ValueLimit } from '../domain/value-backend.js';
import {
  badRef,
  CallTimeout,
  capacityExceeded,
  foreignSecret,
  gaveUp,
  immutableSecret,
  invalidKey,
  invalidScope,
  invalidVersion,
  KUBERNETES_SECRET_LIMIT_BYTES,
  namespaceNotFound,
  statusOf,
  translateApiError,
} from './kubernetes-backend-errors.js';
import {
  dataKeyFor,
  decodedSize,
  keyHashOf,
  keySecretNameFor,
  secretNameFor,
  versionIn,
  versionsOf,
} from './kubernetes-data-keys.js';

export { KUBERNETES_SECRET_LIMIT_BYTES } from './kubernetes-backend-errors.js';
export { dataKeyFor, keySecretNameFor, SECRET_NAME_PREFIX, secretNameFor } from './kubernetes-data-keys.js';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const SCOPE_LABEL = 'latchkey.dev/scope';
export const KEY_ANNOTATION = 'latchkey.dev/key';

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

/** Whose values a Secret holds: a scope's (the layout of earlier versions) or one key's. */
interface SecretOwner {
  scope: string;
  key?: string;
}

/** A 409 from the API server: someone else changed or created the Secret first. */
class Contended extends Error {}

export class KubernetesValueBackend implements ValueBackend {
  readonly kind = 'kubernetes' as const;
  readonly namespace: string;
  /** What fits: the newest keepVersions versions of a key share one Secret of at most 1 MiB. */
  readonly valueLimit: ValueLimit;
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
    this.valueLimit = {
      bytes: Math.floor(KUBERNETES_SECRET_LIMIT_BYTES / this.#keep),
      why: `a key's newest ${this.#keep} versions share one Kubernetes Secret, which holds at most 1 MiB`,
    };
  }

  async write(input: { scope: string; key: string; version: number; value: Buffer }): Promise<{ ref: string }> {
    const { scope, key, version, value } = input;
    checkInput(scope, key, version);
    const dataKey = dataKeyFor(key, version);
    const encoded = value.toString('base64');
    // Versions of this key still in the scope's Secret of earlier versions move into the key's own.
    const legacyName = secretNameFor(scope);
    const legacyData = (await this.#get(legacyName))?.data ?? {};
    const carried = versionsOf(legacyData, key);
    await this.#mutate(keySecretNameFor(scope, key), { scope, key }, true, (data) => {
      const held = decodedSize(data);
      for (const c of carried) data[c.dataKey] ??= legacyData[c.dataKey] ?? '';
      data[dataKey] = encoded;
      const newestFirst = versionsOf(data, key).sort((a, b) => b.version - a.version);
      for (const old of newestFirst.slice(this.#keep)) delete data[old.dataKey];
      const after = decodedSize(data);
      if (after > KUBERNETES_SECRET_LIMIT_BYTES) throw capacityExceeded(scope, key, held, after);
      return true;
    });
    if (carried.length > 0) await this.#removeVersions(legacyName, scope, key);
    return { ref: dataKey };
  }

  async read(input: { scope: string; key: string; version: number; ref: string }): Promise<Buffer | undefined> {
    const { scope, key, version, ref } = input;
    checkInput(scope, key, version);
    const dataKey = ref === '' ? dataKeyFor(key, version) : ref;
    if (versionIn(dataKey, key, keyHashOf(key)) !== version) throw badRef(version);
    const own = await this.#get(keySecretNameFor(scope, key));
    const encoded = own?.data?.[dataKey] ?? (await this.#get(secretNameFor(scope)))?.data?.[dataKey];
    return encoded === undefined ? undefined : Buffer.from(encoded, 'base64');
  }

  async remove(input: { scope: string; key: string }): Promise<void> {
    checkInput(input.scope, input.key, 0);
    await this.#removeVersions(keySecretNameFor(input.scope, input.key), input.scope, input.key);
    await this.#removeVersions(secretNameFor(input.scope), input.scope, input.key);
  }

  /** Drops every version of `key` from the Secret `name` (an emptied Secret stays, with no data). */
  #removeVersions(name: string, scope: string, key: string): Promise<void> {
    return this.#mutate(name, { scope }, false, (data) => {
      const versions = versionsOf(data, key);
      for (const v of versions) delete data[v.dataKey];
      return versions.length > 0;
    });
  }

  async destroyVersions(input: {
    scope: string;
    key: string;
    versions: { version: number; ref: string }[];
  }): Promise<void> {
    checkInput(input.scope, input.key, 0);
    const hash = keyHashOf(input.key);
    // Only data keys of this key and the version named: a ref is never trusted to point elsewhere.
    const dataKeys = input.versions.map((v) => {
      const dataKey = v.ref === '' ? dataKeyFor(input.key, v.version) : v.ref;
      if (versionIn(dataKey, input.key, hash) !== v.version) throw badRef(v.version);
      return dataKey;
    });
    if (dataKeys.length === 0) return;
    // In the key's own Secret, or still in the scope's Secret of earlier versions.
    const drop = (data: Record<string, string>): boolean => {
      const present = dataKeys.filter((k) => k in data);
      for (const k of present) delete data[k];
      return present.length > 0;
    };
    await this.#mutate(keySecretNameFor(input.scope, input.key), { scope: input.scope, key: input.key }, false, drop);
    await this.#mutate(secretNameFor(input.scope), { scope: input.scope }, false, drop);
  }

  /**
   * Read, apply `change` to a copy of the data, write back guarded by the read
   * resourceVersion (or create), and start over on a 409. `change` returns
   * false when there is nothing to write; it may throw to abort.
   */
  async #mutate(
    name: string,
    owner: SecretOwner,
    create: boolean,
    change: (data: Record<string, string>) => boolean,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.#get(name);
      try {
        if (current === undefined) {
          if (!create) return;
          const data: Record<string, string> = {};
          if (!change(data)) return;
          await this.#create(name, owner, data);
          return;
        }
        this.#checkWritable(current, name);
        const data = { ...(current.data ?? {}) };
        if (!change(data)) return;
        await this.#replace(name, owner, current, data);
        return;
      } catch (err) {
        if (!(err instanceof Contended)) throw err;
      }
      if (attempt >= this.#maxAttempts) throw gaveUp(this.namespace, name, attempt);
      const ceiling = Math.min(this.#retryMaxMs, this.#retryBaseMs * 2 ** (attempt - 1));
      await delay(Math.floor(this.#random() * ceiling));
    }
  }

  #checkWritable(secret: V1Secret, name: string): void {
    if (secret.metadata?.labels?.[MANAGED_BY_LABEL] !== 'latchkey') {
      throw foreignSecret(this.namespace, name, MANAGED_BY_LABEL);
    }
    if (secret.immutable === true) throw immutableSecret(this.namespace, name);
  }

  async #get(name: string): Promise<V1Secret | undefined> {
    try {
      return await this.#call(() => this.#api.readNamespacedSecret({ name, namespace: this.namespace }));
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw this.#translate(err, name, 'read');
    }
  }

  async #create(name: string, owner: SecretOwner, data: Record<string, string>): Promise<void> {
    const body: V1Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name,
        namespace: this.namespace,
        labels: { [MANAGED_BY_LABEL]: 'latchkey', [SCOPE_LABEL]: owner.scope },
        ...(owner.key === undefined ? {} : { annotations: { [KEY_ANNOTATION]: owner.key } }),
      },
      type: 'Opaque',
      data,
    };
    try {
      await this.#call(() => this.#api.createNamespacedSecret({ namespace: this.namespace, body }));
    } catch (err) {
      if (statusOf(err) === 409) throw new Contended();
      if (statusOf(err) === 404) throw namespaceNotFound(this.namespace);
      throw this.#translate(err, name, 'create');
    }
  }

  async #replace(name: string, owner: SecretOwner, current: V1Secret, data: Record<string, string>): Promise<void> {
    const metadata = current.metadata ?? {};
    const body: V1Secret = {
      ...current,
      metadata: {
        ...metadata,
        labels: { ...metadata.labels, [MANAGED_BY_LABEL]: 'latchkey', [SCOPE_LABEL]: owner.scope },
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

  #translate(err: unknown, secret: string, verb: string) {
    return translateApiError(err, { namespace: this.namespace, secret, timeoutMs: this.#timeoutMs }, verb);
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
}

function checkInput(scope: string, key: string, version: number): void {
  if (scope !== GLOBAL_SCOPE && !DOMAIN_NAME.test(scope)) throw invalidScope();
  if (!SECRET_KEY.test(key)) throw invalidKey();
  if (!Number.isSafeInteger(version) || version < 0) throw invalidVersion();
}
