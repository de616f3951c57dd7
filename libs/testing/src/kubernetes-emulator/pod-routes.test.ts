import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { Log } from '@kubernetes/client-node';
import { freshNs, apiError, useKubernetesEmulator } from './test-client.js';
import { waitFor } from '../wait-for.js';

const fx = useKubernetesEmulator();

describe('pods', () => {
  const pod = (name: string) => ({
    metadata: { name },
    spec: { containers: [{ name: 'main', image: 'busybox' }] },
  });

  test('create starts Pending; setPodPhase moves it; list and get see it', async () => {
    const core = fx.api();
    const namespace = freshNs();
    const created = await core.createNamespacedPod({ namespace, body: pod('w1') });
    assert.equal(created.status?.phase, 'Pending');
    fx.emu.setPodPhase(namespace, 'w1', 'Running');
    const read = await core.readNamespacedPod({ name: 'w1', namespace });
    assert.equal(read.status?.phase, 'Running');
    assert.ok(Number(read.metadata?.resourceVersion) > Number(created.metadata?.resourceVersion));
    const list = await core.listNamespacedPod({ namespace });
    assert.deepEqual(
      list.items.map((p) => p.metadata?.name),
      ['w1'],
    );
    assert.equal(fx.emu.pods(namespace)[0]?.metadata.name, 'w1');
    const invalid = await apiError(core.createNamespacedPod({ namespace, body: { metadata: { name: 'empty' } } }));
    assert.equal(invalid.code, 422);
  });

  test('deleting a pod deletes the secrets it owns and leaves the others', async () => {
    const core = fx.api();
    const namespace = freshNs();
    const p = await core.createNamespacedPod({ namespace, body: pod('w1') });
    const owner = { apiVersion: 'v1', kind: 'Pod', name: 'w1', uid: p.metadata?.uid ?? '', controller: true };
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'w1-values', ownerReferences: [owner] }, stringData: { A: 'a' } },
    });
    await core.createNamespacedSecret({ namespace, body: { metadata: { name: 'unrelated' } } });
    const stored = fx.emu.secrets(namespace).find((s) => s.metadata.name === 'w1-values');
    assert.deepEqual(stored?.metadata.ownerReferences, [owner]);

    // A Pending Pod (never scheduled) goes at once; what it owns goes once the garbage collector sees it gone.
    const deleted = await core.deleteNamespacedPod({ name: 'w1', namespace });
    assert.equal(deleted.metadata?.name, 'w1');
    assert.deepEqual(fx.emu.pods(namespace), []);
    await waitFor(() => fx.emu.secrets(namespace).length === 1, { what: 'the owned Secret collected' });
    assert.deepEqual(
      fx.emu.secrets(namespace).map((s) => s.metadata.name),
      ['unrelated'],
    );
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
    const core = fx.api();
    const logs = new Log(fx.emu.kubeConfig());
    const namespace = freshNs();
    await core.createNamespacedPod({ namespace, body: pod('w1') });
    const pending = await fx.call('GET', `/api/v1/namespaces/${namespace}/pods/w1/log?container=main`);
    assert.equal(pending.status, 400);
    assert.equal(pending.body.message, 'container "main" in pod "w1" is waiting to start: ContainerCreating');
    await assert.rejects(logs.log(namespace, 'w1', 'main', collector().sink), { code: 400 });

    fx.emu.setPodPhase(namespace, 'w1', 'Running');
    fx.emu.appendPodLog(namespace, 'w1', 'first line\nsecond ');
    const whole = collector();
    await logs.log(namespace, 'w1', 'main', whole.sink, { follow: false });
    await whole.done;
    assert.equal(whole.text(), 'first line\nsecond ');

    const followed = collector();
    await logs.log(namespace, 'w1', 'main', followed.sink, { follow: true });
    await waitFor(() => followed.text() === 'first line\nsecond ', { what: 'the output so far' });
    fx.emu.appendPodLog(namespace, 'w1', 'half\n');
    await waitFor(() => followed.text().endsWith('half\n'), { what: 'the appended output' });
    fx.emu.setPodPhase(namespace, 'w1', 'Succeeded');
    await followed.done;
    assert.equal(followed.text(), 'first line\nsecond half\n');
    assert.throws(() => fx.emu.appendPodLog(namespace, 'w1', 'more'), /only a Running container writes output/);
  });

  test('the log subresource: a followed log ends when the Pod is deleted; unknown Pod or container is refused', async () => {
    const core = fx.api();
    const logs = new Log(fx.emu.kubeConfig());
    const namespace = freshNs();
    await core.createNamespacedPod({ namespace, body: pod('w1') });
    fx.emu.setPodPhase(namespace, 'w1', 'Running');
    const followed = collector();
    await logs.log(namespace, 'w1', 'main', followed.sink, { follow: true });
    await core.deleteNamespacedPod({ name: 'w1', namespace });
    await followed.done;
    assert.equal(followed.text(), '');

    const missing = await fx.call('GET', `/api/v1/namespaces/${namespace}/pods/w1/log`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.message, 'pods "w1" not found');
    await core.createNamespacedPod({ namespace, body: pod('w2') });
    fx.emu.setPodPhase(namespace, 'w2', 'Running');
    const wrong = await fx.call('GET', `/api/v1/namespaces/${namespace}/pods/w2/log?container=other`);
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.message, 'container other is not valid for pod w2');
    const post = await fx.call('POST', `/api/v1/namespaces/${namespace}/pods/w2/log`, {});
    assert.equal(post.status, 405);
  });
});
