import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CoreV1Api, PatchStrategy, Watch, setHeaderOptions, type V1Secret } from '@kubernetes/client-node';
import { freshNs, b64, apiError, useKubernetesEmulator } from './test-client.js';
import { waitFor } from '../wait-for.js';

const fx = useKubernetesEmulator();

describe('@kubernetes/client-node 1.4 against the emulator', () => {
  test('CoreV1Api create, read, replace, merge-patch, json-patch, list, delete', async () => {
    const core = fx.api();
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
    const core = fx.api();
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
    const core = fx.api();
    const namespace = freshNs();
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'before' } } });
    const events: string[] = [];
    let ended = false;
    const controller = await new Watch(fx.emu.kubeConfig()).watch(
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
    const core = fx.api();
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'old' } } });
    const list = await core.listNamespacedSecret({ namespace });
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'new' } } });
    const events: string[] = [];
    const controller = await new Watch(fx.emu.kubeConfig()).watch(
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
    const kc = fx.emu.kubeConfig();
    const bad = kc.getCurrentUser();
    assert.ok(bad);
    kc.users = [{ ...bad, token: 'wrong' }];
    const err = await apiError(kc.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: freshNs() }));
    assert.equal(err.code, 401);
  });
});
