import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import {
  ApiException,
  CoreV1Api,
  Log,
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type V1Secret,
} from '@kubernetes/client-node';
import { startKubernetesEmulator, type KubernetesEmulator } from './kubernetes-emulator.js';
import { waitFor } from './wait-for.js';

let emu: KubernetesEmulator;
let nsCount = 0;
/** A fresh namespace per test: the emulator treats every namespace as existing. */
const freshNs = () => `ns-${++nsCount}`;

before(async () => {
  emu = await startKubernetesEmulator({ token: 'emulator-test-token' });
});
after(async () => {
  await emu?.stop();
});

interface Reply {
  status: number;
  contentType: string | null;
  body: Record<string, unknown>;
}

/** A raw call, so that the exact wire shapes are what the assertions see. */
async function call(
  method: string,
  path: string,
  body?: unknown,
  opts: { contentType?: string; token?: string | null } = {},
): Promise<Reply> {
  const headers: Record<string, string> = {};
  const token = opts.token === undefined ? emu.token : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
  const res = await fetch(`${emu.url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get('content-type'), body: JSON.parse(text) as never };
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const secretsPath = (ns: string, name?: string) =>
  `/api/v1/namespaces/${ns}/secrets${name === undefined ? '' : `/${name}`}`;
const rvOf = (r: Reply) => Number((r.body.metadata as { resourceVersion: string }).resourceVersion);

function api(): CoreV1Api {
  return emu.kubeConfig().makeApiClient(CoreV1Api);
}

async function apiError(p: Promise<unknown>): Promise<ApiException<string>> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ApiException, `expected an ApiException, got ${String(err)}`);
    return err as ApiException<string>;
  }
  assert.fail('expected the call to fail');
}

describe('secrets over the wire', () => {
  test('create answers 201 with uid and resourceVersion; a second create is 409 AlreadyExists', async () => {
    const ns = freshNs();
    const created = await call('POST', secretsPath(ns), {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'x', labels: { a: 'b' } },
      data: { k: b64('v') },
    });
    assert.equal(created.status, 201);
    assert.equal(created.contentType, 'application/json');
    assert.equal(created.body.kind, 'Secret');
    assert.equal(created.body.type, 'Opaque');
    const m = created.body.metadata as Record<string, string>;
    assert.equal(m.name, 'x');
    assert.equal(m.namespace, ns);
    assert.match(m.uid ?? '', /^[0-9a-f-]{36}$/);
    assert.match(m.resourceVersion ?? '', /^\d+$/);
    assert.match(m.creationTimestamp ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const again = await call('POST', secretsPath(ns), { metadata: { name: 'x' } });
    assert.equal(again.status, 409);
    assert.deepEqual(again.body, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'secrets "x" already exists',
      reason: 'AlreadyExists',
      details: { name: 'x', kind: 'secrets' },
      code: 409,
    });
  });

  test('get of a missing secret is 404 NotFound with a Status body', async () => {
    const res = await call('GET', secretsPath(freshNs(), 'nope'));
    assert.equal(res.status, 404);
    assert.equal(res.contentType, 'application/json');
    assert.deepEqual(res.body, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'secrets "nope" not found',
      reason: 'NotFound',
      details: { name: 'nope', kind: 'secrets' },
      code: 404,
    });
  });

  test('replace with a stale resourceVersion is 409 Conflict; without one it is allowed; of a missing secret 404', async () => {
    const ns = freshNs();
    const first = await call('POST', secretsPath(ns), { metadata: { name: 'x' }, data: { a: b64('1') } });
    const rv1 = String(rvOf(first));
    const second = await call('PUT', secretsPath(ns, 'x'), {
      metadata: { name: 'x', resourceVersion: rv1 },
      data: { a: b64('2') },
    });
    assert.equal(second.status, 200);
    assert.ok(rvOf(second) > Number(rv1));

    const stale = await call('PUT', secretsPath(ns, 'x'), {
      metadata: { name: 'x', resourceVersion: rv1 },
      data: { a: b64('3') },
    });
    assert.equal(stale.status, 409);
    assert.deepEqual(stale.body, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'Operation cannot be fulfilled on secrets "x": the object has been modified; please apply your changes to the latest version and try again',
      reason: 'Conflict',
      details: { name: 'x', kind: 'secrets' },
      code: 409,
    });

    const blind = await call('PUT', secretsPath(ns, 'x'), { metadata: { name: 'x' }, data: { a: b64('4') } });
    assert.equal(blind.status, 200);
    assert.deepEqual(blind.body.data, { a: b64('4') });
    assert.equal(
      (blind.body.metadata as Record<string, string>).uid,
      (first.body.metadata as Record<string, string>).uid,
    );

    const missing = await call('PUT', secretsPath(ns, 'y'), { metadata: { name: 'y' } });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.reason, 'NotFound');
  });

  test('stringData is merged into data, wins over data, and is never returned', async () => {
    const ns = freshNs();
    const res = await call('POST', secretsPath(ns), {
      metadata: { name: 'x' },
      data: { a: b64('from-data'), b: b64('kept') },
      stringData: { a: 'from-stringData', c: 'plain' },
    });
    assert.equal(res.status, 201);
    assert.equal(res.body.stringData, undefined);
    assert.deepEqual(res.body.data, { a: b64('from-stringData'), b: b64('kept'), c: b64('plain') });
    const got = await call('GET', secretsPath(ns, 'x'));
    assert.equal(got.body.stringData, undefined);
    assert.equal(emu.secrets(ns)[0]?.stringData, undefined);
  });

  test('delete answers 200 with a Success Status carrying the uid, then the secret is gone', async () => {
    const ns = freshNs();
    const created = await call('POST', secretsPath(ns), { metadata: { name: 'x' } });
    const uid = (created.body.metadata as Record<string, string>).uid;
    const res = await call('DELETE', secretsPath(ns, 'x'));
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name: 'x', kind: 'secrets', uid },
    });
    assert.equal((await call('GET', secretsPath(ns, 'x'))).status, 404);
    assert.equal((await call('DELETE', secretsPath(ns, 'x'))).status, 404);
  });

  test('list answers a SecretList with the current resourceVersion and honours label selectors', async () => {
    const ns = freshNs();
    await call('POST', secretsPath(ns), { metadata: { name: 'b', labels: { team: 'x' } } });
    await call('POST', secretsPath(ns), { metadata: { name: 'a', labels: { team: 'y' } } });
    await call('POST', secretsPath(freshNs()), { metadata: { name: 'elsewhere' } });
    const list = await call('GET', secretsPath(ns));
    assert.equal(list.status, 200);
    assert.equal(list.body.kind, 'SecretList');
    assert.equal(list.body.apiVersion, 'v1');
    assert.match((list.body.metadata as Record<string, string>).resourceVersion ?? '', /^\d+$/);
    const items = list.body.items as { metadata: { name: string } }[];
    assert.deepEqual(
      items.map((i) => i.metadata.name),
      ['a', 'b'],
    );
    const selected = await call('GET', `${secretsPath(ns)}?labelSelector=${encodeURIComponent('team=x')}`);
    assert.deepEqual(
      (selected.body.items as { metadata: { name: string } }[]).map((i) => i.metadata.name),
      ['b'],
    );
  });

  test('every write gets a higher resourceVersion than the last', async () => {
    const ns = freshNs();
    const seen: number[] = [];
    seen.push(rvOf(await call('POST', secretsPath(ns), { metadata: { name: 'a' } })));
    seen.push(rvOf(await call('POST', secretsPath(ns), { metadata: { name: 'b' } })));
    seen.push(rvOf(await call('PUT', secretsPath(ns, 'a'), { metadata: { name: 'a' }, data: { k: b64('1') } })));
    seen.push(
      rvOf(
        await call('PATCH', secretsPath(ns, 'b'), { data: { k: b64('2') } }, { contentType: PatchStrategy.MergePatch }),
      ),
    );
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! > seen[i - 1]!, `resourceVersions ${seen.join(', ')}`);
  });
});

describe('secret validation (422 Invalid with causes)', () => {
  const causesOf = (r: Reply) =>
    ((r.body.details as { causes: { field: string; reason: string }[] }).causes ?? []).map((c) => [c.field, c.reason]);

  test('a secret whose decoded data exceeds 1,048,576 bytes is rejected; exactly the limit is accepted', async () => {
    const ns = freshNs();
    const atLimit = Buffer.alloc(1_048_576, 1).toString('base64');
    const ok = await call('POST', secretsPath(ns), { metadata: { name: 'full' }, data: { a: atLimit } });
    assert.equal(ok.status, 201);
    const over = await call('POST', secretsPath(ns), {
      metadata: { name: 'over' },
      data: { a: Buffer.alloc(1_048_000).toString('base64'), b: Buffer.alloc(577).toString('base64') },
    });
    assert.equal(over.status, 422);
    assert.equal(over.body.kind, 'Status');
    assert.equal(over.body.reason, 'Invalid');
    assert.equal(over.body.code, 422);
    assert.equal(over.body.message, 'Secret "over" is invalid: data: Too long: must have at most 1048576 bytes');
    assert.deepEqual((over.body.details as Record<string, unknown>).kind, 'Secret');
    assert.deepEqual(causesOf(over), [['data', 'FieldValueTooLong']]);
  });

  test('bad data key names are rejected, one cause each', async () => {
    const res = await call('POST', secretsPath(freshNs()), {
      metadata: { name: 'x' },
      data: { 'a/b': b64('1'), '..x': b64('1'), [`k${'x'.repeat(253)}`]: b64('1'), 'fine.key-1_A': b64('1') },
    });
    assert.equal(res.status, 422);
    assert.deepEqual(
      causesOf(res)
        .map(([f, r]) => `${f} ${r}`)
        .sort(),
      ['data[..x] FieldValueInvalid', 'data[a/b] FieldValueInvalid', `data[k${'x'.repeat(253)}] FieldValueInvalid`],
    );
    assert.match(String(res.body.message), /^Secret "x" is invalid: \[/);
  });

  test('bad object names are rejected', async () => {
    for (const name of ['Upper', 'under_score', '-lead', `${'a'.repeat(254)}`]) {
      const res = await call('POST', secretsPath(freshNs()), { metadata: { name } });
      assert.equal(res.status, 422, name);
      assert.ok(causesOf(res).every(([f]) => f === 'metadata.name'));
    }
    const unnamed = await call('POST', secretsPath(freshNs()), { metadata: {} });
    assert.equal(unnamed.status, 422);
    assert.deepEqual(causesOf(unnamed), [['metadata.name', 'FieldValueRequired']]);
  });

  test('the data of an immutable secret cannot change, and type never can', async () => {
    const ns = freshNs();
    await call('POST', secretsPath(ns), { metadata: { name: 'frozen' }, immutable: true, data: { a: b64('1') } });
    const changed = await call('PUT', secretsPath(ns, 'frozen'), {
      metadata: { name: 'frozen' },
      immutable: true,
      data: { a: b64('2') },
    });
    assert.equal(changed.status, 422);
    assert.deepEqual(causesOf(changed), [['data', 'FieldValueForbidden']]);
    const same = await call('PUT', secretsPath(ns, 'frozen'), {
      metadata: { name: 'frozen', labels: { now: 'labelled' } },
      immutable: true,
      data: { a: b64('1') },
    });
    assert.equal(same.status, 200);

    await call('POST', secretsPath(ns), { metadata: { name: 'typed' }, data: { a: b64('1') } });
    const retyped = await call(
      'PATCH',
      secretsPath(ns, 'typed'),
      { type: 'kubernetes.io/basic-auth' },
      { contentType: PatchStrategy.MergePatch },
    );
    assert.equal(retyped.status, 422);
    assert.deepEqual(causesOf(retyped), [['type', 'FieldValueInvalid']]);
    assert.match(String(retyped.body.message), /type: Invalid value: "kubernetes.io\/basic-auth": field is immutable/);
  });

  test('data that is not base64 is a 400 BadRequest', async () => {
    const res = await call('POST', secretsPath(freshNs()), { metadata: { name: 'x' }, data: { a: 'not base64!' } });
    assert.equal(res.status, 400);
    assert.equal(res.body.reason, 'BadRequest');
    assert.match(String(res.body.message), /illegal base64 data at input byte/);
  });
});

describe('authentication, failure injection, latency, request log', () => {
  test('a missing or wrong bearer token is 401 Unauthorized', async () => {
    for (const token of [null, 'wrong']) {
      const res = await call('GET', secretsPath(freshNs()), undefined, { token });
      assert.equal(res.status, 401);
      assert.equal(res.contentType, 'application/json');
      assert.deepEqual(res.body, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'Unauthorized',
        reason: 'Unauthorized',
        code: 401,
      });
    }
  });

  test('failNext answers the next n requests with the status, then recovers', async () => {
    const ns = freshNs();
    emu.failNext(2, 503);
    assert.equal((await call('GET', secretsPath(ns))).status, 503);
    const forbidden = await call('GET', secretsPath(ns));
    assert.equal(forbidden.status, 503);
    assert.equal(forbidden.body.reason, 'ServiceUnavailable');
    assert.equal((await call('GET', secretsPath(ns))).status, 200);

    emu.failNext(1, 403);
    const denied = await call('GET', secretsPath(ns, 'x'));
    assert.equal(denied.status, 403);
    assert.equal(denied.body.reason, 'Forbidden');
    assert.match(String(denied.body.message), new RegExp(`cannot get resource "secrets" .* namespace "${ns}"`));

    emu.failNext(1, 0);
    await assert.rejects(fetch(`${emu.url}${secretsPath(ns)}`, { headers: { authorization: `Bearer ${emu.token}` } }));
    assert.equal((await call('GET', secretsPath(ns))).status, 200);
  });

  test('setLatency delays responses', async () => {
    emu.setLatency(150);
    try {
      const started = performance.now();
      await call('GET', secretsPath(freshNs()));
      assert.ok(performance.now() - started >= 140);
    } finally {
      emu.setLatency(0);
    }
  });

  test('the request log records method, path, query and status, never headers', async () => {
    const ns = freshNs();
    await call('GET', `${secretsPath(ns)}?labelSelector=a%3Db`);
    const entry = emu
      .requests()
      .reverse()
      .find((r) => r.path === secretsPath(ns));
    assert.deepEqual(entry, { method: 'GET', path: secretsPath(ns), query: { labelSelector: 'a=b' }, status: 200 });
    assert.ok(!JSON.stringify(emu.requests()).includes(emu.token));
  });
});

describe('@kubernetes/client-node 1.4 against the emulator', () => {
  test('CoreV1Api create, read, replace, merge-patch, json-patch, list, delete', async () => {
    const core = api();
    const namespace = freshNs();
    const created = await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'db', labels: { app: 'x' } }, stringData: { password: 'p1' } },
    });
    assert.equal(created.metadata?.name, 'db');
    assert.deepEqual(created.data, { password: b64('p1') });

    const read = await core.readNamespacedSecret({ name: 'db', namespace });
    const replaced = await core.replaceNamespacedSecret({
      name: 'db',
      namespace,
      body: { ...read, data: { ...read.data, user: b64('u') } },
    });
    assert.notEqual(replaced.metadata?.resourceVersion, read.metadata?.resourceVersion);

    const merged = await core.patchNamespacedSecret(
      { name: 'db', namespace, body: { data: { user: null, extra: b64('e') } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    assert.deepEqual(merged.data, { password: b64('p1'), extra: b64('e') });

    const jsonPatched = await core.patchNamespacedSecret({
      name: 'db',
      namespace,
      body: [
        { op: 'test', path: '/data/extra', value: b64('e') },
        { op: 'remove', path: '/data/extra' },
        { op: 'add', path: '/metadata/labels/patched', value: 'yes' },
      ],
    });
    assert.deepEqual(jsonPatched.data, { password: b64('p1') });
    assert.equal(jsonPatched.metadata?.labels?.patched, 'yes');

    const list = await core.listNamespacedSecret({ namespace, labelSelector: 'patched=yes' });
    assert.deepEqual(
      list.items.map((s) => s.metadata?.name),
      ['db'],
    );

    const status = await core.deleteNamespacedSecret({ name: 'db', namespace });
    assert.equal(status.status, 'Success');
    const gone = await apiError(core.readNamespacedSecret({ name: 'db', namespace }));
    assert.equal(gone.code, 404);
  });

  test('a stale replace rejects with ApiException code 409 and the Status as a raw JSON string body', async () => {
    const core = api();
    const namespace = freshNs();
    const first = await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'x' } } });
    await core.replaceNamespacedSecret({ name: 'x', namespace, body: { ...first, data: { a: b64('1') } } });
    const err = await apiError(
      core.replaceNamespacedSecret({ name: 'x', namespace, body: { ...first, data: { a: b64('2') } } }),
    );
    assert.equal(err.code, 409);
    assert.equal(typeof err.body, 'string');
    const body = JSON.parse(err.body) as { reason: string; details: { name: string } };
    assert.equal(body.reason, 'Conflict');
    assert.equal(body.details.name, 'x');

    const invalid = await apiError(
      core.createNamespacedSecret({ namespace, body: { metadata: { name: 'Bad_Name' } } as V1Secret }),
    );
    assert.equal(invalid.code, 422);
    assert.equal((JSON.parse(invalid.body) as { reason: string }).reason, 'Invalid');
  });

  test('Watch streams ADDED, MODIFIED and DELETED events', async () => {
    const core = api();
    const namespace = freshNs();
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'before' } } });
    const events: string[] = [];
    let ended = false;
    const controller = await new Watch(emu.kubeConfig()).watch(
      `/api/v1/namespaces/${namespace}/secrets`,
      {},
      (type, obj: V1Secret) => events.push(`${type} ${obj.metadata?.name ?? '?'}`),
      () => {
        ended = true;
      },
    );
    try {
      await waitFor(() => events.includes('ADDED before'), { what: 'the existing secret to be listed' });
      await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'x' } } });
      await core.patchNamespacedSecret(
        { name: 'x', namespace, body: { data: { a: b64('1') } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await core.deleteNamespacedSecret({ name: 'x', namespace });
      await waitFor(() => events.length >= 4, { what: 'four watch events' });
      assert.deepEqual(events, ['ADDED before', 'ADDED x', 'MODIFIED x', 'DELETED x']);
    } finally {
      controller.abort();
    }
    await waitFor(() => ended, { what: 'the watch to end' });
  });

  test('a watch from a resourceVersion replays only later events', async () => {
    const namespace = freshNs();
    const core = api();
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'old' } } });
    const list = await core.listNamespacedSecret({ namespace });
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'new' } } });
    const events: string[] = [];
    const controller = await new Watch(emu.kubeConfig()).watch(
      `/api/v1/namespaces/${namespace}/secrets`,
      { resourceVersion: list.metadata?.resourceVersion },
      (type, obj: V1Secret) => events.push(`${type} ${obj.metadata?.name ?? '?'}`),
      () => {},
    );
    try {
      await waitFor(() => events.length >= 1, { what: 'a replayed event' });
      assert.deepEqual(events, ['ADDED new']);
    } finally {
      controller.abort();
    }
  });

  test('401 reaches client-node as ApiException code 401', async () => {
    const kc = emu.kubeConfig();
    const bad = kc.getCurrentUser();
    assert.ok(bad);
    kc.users = [{ ...bad, token: 'wrong' }];
    const err = await apiError(kc.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: freshNs() }));
    assert.equal(err.code, 401);
  });
});

describe('pods', () => {
  const pod = (name: string) => ({
    metadata: { name },
    spec: { containers: [{ name: 'main', image: 'busybox' }] },
  });

  test('create starts Pending; setPodPhase moves it; list and get see it', async () => {
    const core = api();
    const namespace = freshNs();
    const created = await core.createNamespacedPod({ namespace, body: pod('w1') });
    assert.equal(created.status?.phase, 'Pending');
    emu.setPodPhase(namespace, 'w1', 'Running');
    const read = await core.readNamespacedPod({ name: 'w1', namespace });
    assert.equal(read.status?.phase, 'Running');
    assert.ok(Number(read.metadata?.resourceVersion) > Number(created.metadata?.resourceVersion));
    const list = await core.listNamespacedPod({ namespace });
    assert.deepEqual(
      list.items.map((p) => p.metadata?.name),
      ['w1'],
    );
    assert.equal(emu.pods(namespace)[0]?.metadata.name, 'w1');
    const invalid = await apiError(core.createNamespacedPod({ namespace, body: { metadata: { name: 'empty' } } }));
    assert.equal(invalid.code, 422);
  });

  test('deleting a pod deletes the secrets it owns and leaves the others', async () => {
    const core = api();
    const namespace = freshNs();
    const p = await core.createNamespacedPod({ namespace, body: pod('w1') });
    const owner = { apiVersion: 'v1', kind: 'Pod', name: 'w1', uid: p.metadata?.uid ?? '', controller: true };
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'w1-values', ownerReferences: [owner] }, stringData: { A: 'a' } },
    });
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'unrelated' } } });
    const stored = emu.secrets(namespace).find((s) => s.metadata.name === 'w1-values');
    assert.deepEqual(stored?.metadata.ownerReferences, [owner]);

    const deleted = await core.deleteNamespacedPod({ name: 'w1', namespace });
    assert.equal(deleted.metadata?.name, 'w1');
    assert.deepEqual(
      emu.secrets(namespace).map((s) => s.metadata.name),
      ['unrelated'],
    );
    assert.deepEqual(emu.pods(namespace), []);
  });

  /** A Writable collecting what the client-node Log pipes into it; `ended` resolves when the body ends. */
  function collector() {
    let text = '';
    let ended!: () => void;
    const done = new Promise<void>((resolve) => (ended = resolve));
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        text += chunk.toString('utf8');
        cb();
      },
      final(cb) {
        ended();
        cb();
      },
    });
    return { sink, done, text: () => text };
  }

  test('the log subresource: refused while Pending, whole output once Running, followed until the Pod finishes', async () => {
    const core = api();
    const logs = new Log(emu.kubeConfig());
    const namespace = freshNs();
    await core.createNamespacedPod({ namespace, body: pod('w1') });
    const pending = await call('GET', `/api/v1/namespaces/${namespace}/pods/w1/log?container=main`);
    assert.equal(pending.status, 400);
    assert.equal(pending.body.message, 'container "main" in pod "w1" is waiting to start: ContainerCreating');
    await assert.rejects(logs.log(namespace, 'w1', 'main', collector().sink), { code: 400 });

    emu.setPodPhase(namespace, 'w1', 'Running');
    emu.appendPodLog(namespace, 'w1', 'first line\nsecond ');
    const whole = collector();
    await logs.log(namespace, 'w1', 'main', whole.sink, { follow: false });
    await whole.done;
    assert.equal(whole.text(), 'first line\nsecond ');

    const followed = collector();
    await logs.log(namespace, 'w1', 'main', followed.sink, { follow: true });
    await waitFor(() => followed.text() === 'first line\nsecond ', { what: 'the output so far' });
    emu.appendPodLog(namespace, 'w1', 'half\n');
    await waitFor(() => followed.text().endsWith('half\n'), { what: 'the appended output' });
    emu.setPodPhase(namespace, 'w1', 'Succeeded');
    await followed.done;
    assert.equal(followed.text(), 'first line\nsecond half\n');
    assert.throws(() => emu.appendPodLog(namespace, 'w1', 'more'), /only a Running container writes output/);
  });

  test('the log subresource: a followed log ends when the Pod is deleted; unknown Pod or container is refused', async () => {
    const core = api();
    const logs = new Log(emu.kubeConfig());
    const namespace = freshNs();
    await core.createNamespacedPod({ namespace, body: pod('w1') });
    emu.setPodPhase(namespace, 'w1', 'Running');
    const followed = collector();
    await logs.log(namespace, 'w1', 'main', followed.sink, { follow: true });
    await core.deleteNamespacedPod({ name: 'w1', namespace });
    await followed.done;
    assert.equal(followed.text(), '');

    const missing = await call('GET', `/api/v1/namespaces/${namespace}/pods/w1/log`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.message, 'pods "w1" not found');
    await core.createNamespacedPod({ namespace, body: pod('w2') });
    emu.setPodPhase(namespace, 'w2', 'Running');
    const wrong = await call('GET', `/api/v1/namespaces/${namespace}/pods/w2/log?container=other`);
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.message, 'container other is not valid for pod w2');
    const post = await call('POST', `/api/v1/namespaces/${namespace}/pods/w2/log`, {});
    assert.equal(post.status, 405);
  });
});
