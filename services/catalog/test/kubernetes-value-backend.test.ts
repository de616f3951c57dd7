import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { inspect } from 'node:util';
import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import type { LatchkeyError } from '@latchkey/errors';
import {
  k3sSkipReason,
  startKubernetesEmulator,
  startTestK3s,
  type KubernetesEmulator,
  type KubernetesRequestLogEntry,
  type TestK3s,
} from '@latchkey/testing';
import { rejection, stopOnce } from './support.js';
import { valueBackendContract } from './value-backend-contract.js';
import {
  KubernetesValueBackend,
  dataKeyFor,
  keySecretNameFor,
  secretNameFor,
  type KubernetesValueBackendOptions,
} from '../src/adapters/kubernetes-value-backend.js';

const NAMESPACE = 'latchkey-store';

/** Where a suite runs: the emulator (with its inspection hooks) or a real cluster. */
interface Cluster {
  kubeConfig(): KubeConfig;
  /** The emulator's request log; absent on a real cluster. */
  requests?: () => KubernetesRequestLogEntry[];
  setLatency?: (ms: number) => void;
}

let domainCount = 0;
/** Every test writes into its own domain, so tests share one namespace without interfering. */
const freshDomain = () => `team-${process.pid % 1000}-${++domainCount}`;

function backendOn(cluster: Cluster, opts: Partial<KubernetesValueBackendOptions> = {}): KubernetesValueBackend {
  return new KubernetesValueBackend({ kubeConfig: cluster.kubeConfig(), namespace: NAMESPACE, ...opts });
}

/** The Secret holding one key's versions. */
async function readKeySecret(cluster: Cluster, scope: string, key: string): Promise<V1Secret> {
  const core = cluster.kubeConfig().makeApiClient(CoreV1Api);
  return core.readNamespacedSecret({ name: keySecretNameFor(scope, key), namespace: NAMESPACE });
}

/** The scope's Secret of the layout of earlier versions. */
async function readLegacySecret(cluster: Cluster, scope: string): Promise<V1Secret> {
  const core = cluster.kubeConfig().makeApiClient(CoreV1Api);
  return core.readNamespacedSecret({ name: secretNameFor(scope), namespace: NAMESPACE });
}

/** Every way an error can be printed, none of which may hold any of the needles. */
function assertNotIn(err: unknown, needles: string[]): void {
  const renderings = [
    err instanceof Error ? err.message : '',
    String(err),
    JSON.stringify(err),
    inspect(err, { depth: 10, showHidden: true }),
  ];
  for (const r of renderings) for (const n of needles) assert.ok(!r.includes(n), `an error rendering contains ${n}`);
}

const KiB = 1024;

/** The tests that hold on any Kubernetes API: the emulator and k3s alike. */
function portableTests(getCluster: () => Cluster): void {
  test("a value written to a domain reads back, stored base64 in its key's labelled Opaque Secret", async () => {
    const cluster = getCluster();
    const backend = backendOn(cluster);
    const scope = freshDomain();
    const value = Buffer.from('pg-password-\u00e9\u0000\u00ff', 'utf8');
    const { ref } = await backend.write({ scope, key: 'DB_PASSWORD', version: 1, value });
    assert.equal(ref, 'v1.DB_PASSWORD');
    assert.deepEqual(await backend.read({ scope, key: 'DB_PASSWORD', version: 1, ref }), value);

    const secret = await readKeySecret(cluster, scope, 'DB_PASSWORD');
    assert.match(secret.metadata?.name ?? '', new RegExp(`^latchkey-secret-store-${scope}\\.k[0-9a-f]{40}$`));
    assert.equal(secret.type, 'Opaque');
    assert.deepEqual(secret.metadata?.labels, {
      'app.kubernetes.io/managed-by': 'latchkey',
      'latchkey.dev/scope': scope,
    });
    assert.deepEqual(secret.metadata?.annotations, { 'latchkey.dev/key': 'DB_PASSWORD' });
    assert.deepEqual(secret.data, { 'v1.DB_PASSWORD': value.toString('base64') });
  });

  test('global values live in Secrets latchkey-secret-store.k<hash>', async () => {
    const cluster = getCluster();
    const backend = backendOn(cluster);
    const key = `G_${domainCount}`;
    const { ref } = await backend.write({ scope: 'global', key, version: 3, value: Buffer.from('g') });
    const secret = await readKeySecret(cluster, 'global', key);
    assert.match(secret.metadata?.name ?? '', /^latchkey-secret-store\.k[0-9a-f]{40}$/);
    assert.equal(secret.metadata?.labels?.['latchkey.dev/scope'], 'global');
    assert.equal(secret.data?.[ref], Buffer.from('g').toString('base64'));
  });

  test('versions of one key are separate; reading a version never written is undefined', async () => {
    const backend = backendOn(getCluster());
    const scope = freshDomain();
    const r1 = await backend.write({ scope, key: 'K', version: 1, value: Buffer.from('one') });
    const r2 = await backend.write({ scope, key: 'K', version: 2, value: Buffer.from('two') });
    assert.equal(String(await backend.read({ scope, key: 'K', version: 1, ref: r1.ref })), 'one');
    assert.equal(String(await backend.read({ scope, key: 'K', version: 2, ref: r2.ref })), 'two');
    assert.equal(await backend.read({ scope, key: 'K', version: 3, ref: dataKeyFor('K', 3) }), undefined);
    assert.equal(await backend.read({ scope: freshDomain(), key: 'K', version: 1, ref: r1.ref }), undefined);
  });

  test('remove drops every version of one key only, and is idempotent', async () => {
    const backend = backendOn(getCluster());
    const scope = freshDomain();
    const a1 = await backend.write({ scope, key: 'A', version: 1, value: Buffer.from('a1') });
    const a2 = await backend.write({ scope, key: 'A', version: 2, value: Buffer.from('a2') });
    const b1 = await backend.write({ scope, key: 'A.B', version: 1, value: Buffer.from('b1') });
    await backend.remove({ scope, key: 'A' });
    await backend.remove({ scope, key: 'A' });
    await backend.remove({ scope: freshDomain(), key: 'A' });
    assert.equal(await backend.read({ scope, key: 'A', version: 1, ref: a1.ref }), undefined);
    assert.equal(await backend.read({ scope, key: 'A', version: 2, ref: a2.ref }), undefined);
    assert.equal(String(await backend.read({ scope, key: 'A.B', version: 1, ref: b1.ref })), 'b1');
  });

  test('20 concurrent writers of one key all land', async () => {
    const cluster = getCluster();
    const backend = backendOn(cluster, { keepVersions: 20 });
    const scope = freshDomain();
    const before = cluster.requests?.().length ?? 0;
    // With latency above the first backoff ceiling, writers' reads overlap, so conflicts are certain.
    cluster.setLatency?.(20);
    try {
      const refs = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          backend.write({ scope, key: 'KEY', version: i + 1, value: Buffer.from(`value-${i}`) }),
        ),
      );
      for (const [i, { ref }] of refs.entries()) {
        assert.equal(String(await backend.read({ scope, key: 'KEY', version: i + 1, ref })), `value-${i}`);
      }
    } finally {
      cluster.setLatency?.(0);
    }
    const secret = await readKeySecret(cluster, scope, 'KEY');
    assert.equal(Object.keys(secret.data ?? {}).length, 20);
    if (cluster.requests !== undefined) {
      const mine = cluster.requests().slice(before);
      const putConflicts = mine.filter((r) => r.method === 'PUT' && r.status === 409).length;
      const createRaces = mine.filter((r) => r.method === 'POST' && r.status === 409).length;
      assert.ok(putConflicts > 0, 'expected stale-resourceVersion conflicts (PUT 409) in the request log');
      assert.ok(createRaces > 0, 'expected creation races (POST 409 AlreadyExists) in the request log');
    }
  });

  test("a version that would overflow its key's 1 MiB Secret is refused with the sizes, before the API sees it", async () => {
    const cluster = getCluster();
    const backend = backendOn(cluster);
    const scope = 'analytics';
    await backend.write({ scope, key: 'BIG', version: 1, value: Buffer.alloc(1020 * KiB, 7) });
    const before = cluster.requests?.().length ?? 0;
    const canary = Buffer.from('CANARY-VALUE-'.repeat(500), 'utf8');
    const value = Buffer.concat([canary, Buffer.alloc(12 * KiB - canary.length, 1)]);
    const err = await rejection(backend.write({ scope, key: 'BIG', version: 2, value }));
    assert.equal(err.code, 'backend.capacity_exceeded');
    assert.equal(err.kind, 'failed_precondition');
    assert.equal(err.retryable, false);
    assert.equal(
      err.message,
      `key BIG of domain ${scope} holds 1,020 KiB; this value needs 8 KiB more than fits in its Kubernetes Secret (1 MiB)`,
    );
    assertNotIn(err, ['CANARY']);
    if (cluster.requests !== undefined) {
      assert.deepEqual(
        cluster
          .requests()
          .slice(before)
          .map((r) => r.method),
        ['GET', 'GET'],
        'the oversized write never reached the API (it read the old layout and the key)',
      );
    }
    // Exactly up to the limit still fits.
    await backend.write({ scope, key: 'BIG', version: 2, value: Buffer.alloc(4 * KiB) });
  });

  test("one domain's many keys do not share a ceiling: far more than 1 MiB of one domain's values all land", async () => {
    const cluster = getCluster();
    const backend = backendOn(cluster);
    const scope = freshDomain();
    const big = Math.floor(backend.valueLimit.bytes);
    const refs: string[] = [];
    // 8 keys x 2 versions at the per-value limit: 3.2 MiB in one domain.
    for (let k = 0; k < 8; k++) {
      for (let v = 1; v <= 2; v++) {
        refs.push((await backend.write({ scope, key: `K${k}`, version: v, value: Buffer.alloc(big, k * 2 + v) })).ref);
      }
    }
    for (let k = 0; k < 8; k++) {
      const got = await backend.read({ scope, key: `K${k}`, version: 2, ref: refs[k * 2 + 1] ?? '' });
      assert.equal(got?.length, big);
      assert.equal(got?.[0], k * 2 + 2);
    }
  });

  test('old versions are pruned on write, keeping the newest N', async () => {
    const cluster = getCluster();
    const backend = backendOn(cluster, { keepVersions: 3 });
    const scope = freshDomain();
    const refs: string[] = [];
    for (let v = 1; v <= 5; v++)
      refs.push((await backend.write({ scope, key: 'ROT', version: v, value: Buffer.from(`r${v}`) })).ref);
    await backend.write({ scope, key: 'OTHER', version: 1, value: Buffer.from('o') });
    const read = (v: number) => backend.read({ scope, key: 'ROT', version: v, ref: refs[v - 1] ?? '' });
    assert.equal(await read(1), undefined);
    assert.equal(await read(2), undefined);
    assert.deepEqual(await Promise.all([3, 4, 5].map(async (v) => String(await read(v)))), ['r3', 'r4', 'r5']);
    assert.deepEqual(Object.keys((await readKeySecret(cluster, scope, 'ROT')).data ?? {}).sort(), [
      'v3.ROT',
      'v4.ROT',
      'v5.ROT',
    ]);
    assert.deepEqual(Object.keys((await readKeySecret(cluster, scope, 'OTHER')).data ?? {}), ['v1.OTHER']);
  });

  test('keys up to 253 characters get legal, distinct data keys; lookalike keys never collide', async () => {
    const cluster = getCluster();
    const backend = backendOn(cluster, { keepVersions: 2 });
    const scope = freshDomain();
    const long = 'L'.repeat(253);
    const longTwin = `${'L'.repeat(252)}M`;
    const edge200 = 'E'.repeat(200);
    const edge201 = 'E'.repeat(201);
    const keys = [long, longTwin, edge200, edge201, 'a', '2.a', '..x', '-', 'v1.a'];
    for (const key of keys) {
      for (const version of [1, 2, 12, 9_007_199_254_740_991]) {
        const dk = dataKeyFor(key, version);
        assert.ok(dk.length <= 253, `${dk.length} bytes`);
        assert.match(dk, /^[-._a-zA-Z0-9]+$/);
        assert.ok(!dk.startsWith('.'));
      }
    }
    const written = new Map<string, { ref: string; value: string }>();
    for (const [i, key] of keys.entries()) {
      for (const version of [1, 12]) {
        const value = `${i}@${version}`;
        const { ref } = await backend.write({ scope, key, version, value: Buffer.from(value) });
        written.set(`${key}#${version}`, { ref, value });
      }
    }
    assert.equal(new Set([...written.values()].map((w) => w.ref)).size, keys.length * 2, 'every ref is distinct');
    for (const [id, { ref, value }] of written) {
      const [key = '', version = ''] = id.split('#');
      assert.equal(String(await backend.read({ scope, key, version: Number(version), ref })), value, id);
    }
    // Pruning a hashed key's versions leaves its twin alone.
    await backend.write({ scope, key: long, version: 13, value: Buffer.from('newest') });
    assert.equal(await backend.read({ scope, key: long, version: 1, ref: dataKeyFor(long, 1) }), undefined);
    assert.equal(String(await backend.read({ scope, key: longTwin, version: 1, ref: dataKeyFor(longTwin, 1) })), '1@1');
    await backend.remove({ scope, key: 'a' });
    assert.equal(String(await backend.read({ scope, key: '2.a', version: 1, ref: dataKeyFor('2.a', 1) })), '5@1');
    assert.equal(String(await backend.read({ scope, key: 'v1.a', version: 1, ref: dataKeyFor('v1.a', 1) })), '8@1');
  });

  test('a Secret of that name that Latchkey does not manage is never written', async () => {
    const cluster = getCluster();
    const scope = freshDomain();
    const core = cluster.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespacedSecret({
      namespace: NAMESPACE,
      body: { metadata: { name: keySecretNameFor(scope, 'K') }, stringData: { theirs: 'x' } },
    });
    const err = await rejection(backendOn(cluster).write({ scope, key: 'K', version: 1, value: Buffer.from('v') }));
    assert.equal(err.code, 'backend.foreign_secret');
    assert.deepEqual(Object.keys((await readKeySecret(cluster, scope, 'K')).data ?? {}), ['theirs']);
  });

  test("the old layout (a scope's one Secret) is still read; a key's next write moves its versions out; remove clears both", async () => {
    const cluster = getCluster();
    const backend = backendOn(cluster, { keepVersions: 3 });
    const scope = freshDomain();
    const core = cluster.kubeConfig().makeApiClient(CoreV1Api);
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    await core.createNamespacedSecret({
      namespace: NAMESPACE,
      body: {
        metadata: {
          name: secretNameFor(scope),
          labels: { 'app.kubernetes.io/managed-by': 'latchkey', 'latchkey.dev/scope': scope },
        },
        type: 'Opaque',
        data: { 'v1.OLD': b64('old-1'), 'v2.OLD': b64('old-2'), 'v1.OTHER': b64('other-1') },
      },
    });
    const read = (key: string, version: number) =>
      backend.read({ scope, key, version, ref: dataKeyFor(key, version) }).then((b) => b?.toString());
    assert.equal(await read('OLD', 1), 'old-1');
    assert.equal(await read('OTHER', 1), 'other-1');
    await backend.write({ scope, key: 'OLD', version: 3, value: Buffer.from('new-3') });
    assert.deepEqual(
      Object.keys((await readKeySecret(cluster, scope, 'OLD')).data ?? {}).sort(),
      ['v1.OLD', 'v2.OLD', 'v3.OLD'],
      "the kept versions moved into the key's own Secret",
    );
    assert.deepEqual(Object.keys((await readLegacySecret(cluster, scope)).data ?? {}), ['v1.OTHER']);
    assert.deepEqual([await read('OLD', 1), await read('OLD', 2), await read('OLD', 3)], ['old-1', 'old-2', 'new-3']);
    await backend.remove({ scope, key: 'OTHER' });
    assert.equal(await read('OTHER', 1), undefined);
    assert.deepEqual((await readLegacySecret(cluster, scope)).data ?? {}, {});
  });
}

describe('KubernetesValueBackend against the emulator', () => {
  let emu: KubernetesEmulator;
  before(async () => {
    emu = await startKubernetesEmulator({
      token: `emulator-token-${randomBytes(8).toString('hex')}`,
      namespaces: [NAMESPACE],
    });
  });
  after(async () => {
    await emu?.stop();
  });
  const cluster = (): Cluster => ({
    kubeConfig: () => emu.kubeConfig(),
    requests: () => emu.requests(),
    setLatency: (ms) => emu.setLatency(ms),
  });

  portableTests(cluster);

  test('the names: a domain ending in "-" gets a legal Secret name no other domain can have', () => {
    assert.equal(secretNameFor('analytics'), 'latchkey-secret-store-analytics');
    assert.equal(secretNameFor('global'), 'latchkey-secret-store');
    assert.equal(secretNameFor('a-'), 'latchkey-secret-store-a-0.trailing-hyphen');
    const names = ['analytics', 'global', 'a-', 'a-0'].flatMap((scope) =>
      ['K', 'k', 'DB_PASSWORD', 'L'.repeat(253)].map((key) => keySecretNameFor(scope, key)),
    );
    assert.equal(new Set(names).size, names.length, 'every scope and key has its own Secret');
    for (const n of names) {
      assert.ok(n.length <= 253, n);
      assert.match(n, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, n);
    }
  });

  test('a namespace that does not exist is named, with the fix, not reported as a missing value', async () => {
    const backend = new KubernetesValueBackend({ kubeConfig: emu.kubeConfig(), namespace: 'latchkey-not-created' });
    const err = await rejection(backend.write({ scope: 'analytics', key: 'K', version: 1, value: Buffer.from('v') }));
    assert.equal(
      err.message,
      'namespace "latchkey-not-created" does not exist; create it or configure another namespace for the secret store',
    );
  });

  test('global overflow names the key and the global scope', async () => {
    const local = await startKubernetesEmulator({ namespaces: [NAMESPACE] });
    try {
      const backend = new KubernetesValueBackend({ kubeConfig: local.kubeConfig(), namespace: NAMESPACE });
      const err = await rejection(
        backend.write({ scope: 'global', key: 'HUGE', version: 1, value: Buffer.alloc(1024 * KiB + 1) }),
      );
      assert.equal(
        err.message,
        'key HUGE of global scope holds 0 KiB; this value needs 1 KiB more than fits in its Kubernetes Secret (1 MiB)',
      );
    } finally {
      await local.stop();
    }
  });

  test('a 5xx or injected outage is backend.unavailable and retryable; the next call succeeds', async () => {
    const backend = backendOn(cluster());
    const scope = freshDomain();
    const { ref } = await backend.write({ scope, key: 'K', version: 1, value: Buffer.from('v') });
    emu.failNext(1, 503);
    const err = await rejection(backend.read({ scope, key: 'K', version: 1, ref }));
    assert.equal(err.code, 'backend.unavailable');
    assert.equal(err.kind, 'unavailable');
    assert.equal(err.retryable, true);
    assert.match(err.message, /HTTP 503/);
    assert.equal(String(await backend.read({ scope, key: 'K', version: 1, ref })), 'v');
  });

  test('401 and 403 are backend.permission_denied naming the namespace', async () => {
    const backend = backendOn(cluster());
    emu.failNext(1, 403);
    const denied = await rejection(
      backend.write({ scope: freshDomain(), key: 'K', version: 1, value: Buffer.from('v') }),
    );
    assert.equal(denied.code, 'backend.permission_denied');
    assert.equal(denied.kind, 'permission_denied');
    assert.equal(denied.retryable, false);
    assert.match(denied.message, new RegExp(`namespace "${NAMESPACE}"`));

    const kc = emu.kubeConfig();
    const user = kc.getCurrentUser();
    assert.ok(user);
    kc.users = [{ ...user, token: 'not-the-token' }];
    const unauthenticated = await rejection(
      new KubernetesValueBackend({ kubeConfig: kc, namespace: NAMESPACE }).read({
        scope: freshDomain(),
        key: 'K',
        version: 1,
        ref: 'v1.K',
      }),
    );
    assert.equal(unauthenticated.code, 'backend.permission_denied');
    assert.match(unauthenticated.message, /HTTP 401/);
    assert.match(unauthenticated.message, new RegExp(`namespace "${NAMESPACE}"`));
  });

  test('no error, nor the backend itself, ever shows the token or a value', async () => {
    const token = `tok-${randomBytes(12).toString('hex')}`;
    const wrong = `wrong-${randomBytes(12).toString('hex')}`;
    const value = `VALUE-${randomBytes(12).toString('hex')}`;
    const local = await startKubernetesEmulator({ token, namespaces: [NAMESPACE] });
    const backend = new KubernetesValueBackend({
      kubeConfig: local.kubeConfig(),
      namespace: NAMESPACE,
      requestTimeoutMs: 200,
    });
    const errors: LatchkeyError[] = [];
    try {
      const scope = freshDomain();
      const write = () => backend.write({ scope, key: 'K', version: 1, value: Buffer.from(value) });
      for (const status of [401, 403, 409, 422, 500, 503]) {
        local.failNext(1, status);
        errors.push(await rejection(write()));
      }
      local.failNext(1, 0);
      errors.push(await rejection(write()));
      await write();
      local.failNext(1, 409);
      errors.push(await rejection(backend.read({ scope, key: 'K', version: 1, ref: 'v1.K' })));

      local.setLatency(1000);
      const timedOut = await rejection(write());
      assert.equal(timedOut.code, 'backend.unavailable');
      assert.match(timedOut.message, /timed out after 200 ms/);
      errors.push(timedOut);
      local.setLatency(0);

      const kc = local.kubeConfig();
      const user = kc.getCurrentUser();
      assert.ok(user);
      kc.users = [{ ...user, token: wrong }];
      errors.push(
        await rejection(
          new KubernetesValueBackend({ kubeConfig: kc, namespace: NAMESPACE }).write({
            scope,
            key: 'K',
            version: 2,
            value: Buffer.from(value),
          }),
        ),
      );
      assertNotIn(backend, [token]);
    } finally {
      await local.stop();
    }
    const down = await rejection(
      backend.write({ scope: freshDomain(), key: 'K', version: 1, value: Buffer.from(value) }),
    );
    assert.equal(down.code, 'backend.unavailable');
    assert.equal(down.retryable, true);
    assert.match(down.message, /network error ECONNREFUSED/);
    errors.push(down);

    assert.ok(errors.length >= 11);
    for (const err of errors) {
      assertNotIn(err, [
        token,
        wrong,
        value,
        Buffer.from(value).toString('base64'),
        'Unknown API Status Code',
        'content-type',
      ]);
      assert.equal(err.cause, undefined, 'no raw client error is attached');
    }
  });

  test('a Secret deleted between read and write is created again', async () => {
    const backend = backendOn(cluster());
    const scope = freshDomain();
    await backend.write({ scope, key: 'K', version: 1, value: Buffer.from('1') });
    const core = emu.kubeConfig().makeApiClient(CoreV1Api);
    await core.deleteNamespacedSecret({ name: keySecretNameFor(scope, 'K'), namespace: NAMESPACE });
    await backend.write({ scope, key: 'K', version: 2, value: Buffer.from('2') });
    assert.deepEqual(Object.keys((await readKeySecret(cluster(), scope, 'K')).data ?? {}), ['v2.K']);
  });

  test('a writer that keeps losing gives up after maxAttempts with a retryable backend.unavailable', async () => {
    const backend = backendOn(cluster(), { maxAttempts: 1 });
    const scope = freshDomain();
    // Both writers read before either writes (latency), so exactly one of the two creates loses.
    emu.setLatency(20);
    let outcomes: PromiseSettledResult<{ ref: string }>[];
    try {
      outcomes = await Promise.allSettled([
        backend.write({ scope, key: 'A', version: 1, value: Buffer.from('a') }),
        backend.write({ scope, key: 'A', version: 2, value: Buffer.from('b') }),
      ]);
    } finally {
      emu.setLatency(0);
    }
    const failed = outcomes.filter((o) => o.status === 'rejected');
    assert.equal(failed.length, 1);
    const err = (failed[0] as PromiseRejectedResult).reason as LatchkeyError;
    assert.equal(err.code, 'backend.unavailable');
    assert.equal(err.retryable, true);
    assert.match(err.message, /gave up after 1 attempts/);
  });
});

describe('ValueBackend contract: kubernetes on the emulator', () => {
  valueBackendContract('kubernetes (emulator)', async () => {
    const emu = await startKubernetesEmulator({ namespaces: [NAMESPACE] });
    const stop = stopOnce(() => emu.stop());
    return {
      backend: new KubernetesValueBackend({ kubeConfig: emu.kubeConfig(), namespace: NAMESPACE }),
      makeUnavailable: stop,
      cleanup: stop,
    };
  });
});

/** A TCP relay in front of a real API server, so that a test can cut the backend off. */
async function startRelay(target: URL): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  let closed = false;
  return {
    url: `https://127.0.0.1:${port}`,
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}

const skipK3s = await k3sSkipReason();

describe('KubernetesValueBackend against k3s', { skip: skipK3s ?? false }, () => {
  let k3s: TestK3s;
  before(async () => {
    k3s = await startTestK3s();
    const core = k3s.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
  });
  after(async () => {
    await k3s?.stop();
  });
  portableTests(() => ({ kubeConfig: () => k3s.kubeConfig() }));

  let contractNamespaces = 0;
  valueBackendContract('kubernetes (k3s)', async () => {
    // A namespace per run of the contract, so its fixed scopes never meet; a relay to cut it off.
    const namespace = `latchkey-contract-${++contractNamespaces}`;
    await k3s
      .kubeConfig()
      .makeApiClient(CoreV1Api)
      .createNamespace({ body: { metadata: { name: namespace } } });
    const relay = await startRelay(new URL(k3s.server));
    return {
      backend: new KubernetesValueBackend({ kubeConfig: k3s.kubeConfig(relay.url), namespace }),
      makeUnavailable: () => relay.close(),
      cleanup: () => relay.close(),
    };
  });
});
