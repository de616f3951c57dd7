import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PatchStrategy } from '@kubernetes/client-node';
import { freshNs, b64, secretsPath, rvOf, failureStatus, type Reply, useKubernetesEmulator } from './test-client.js';

const fx = useKubernetesEmulator();

describe('secrets over the wire', () => {
  test('create answers 201 with uid and resourceVersion; a second create is 409 AlreadyExists', async () => {
    const ns = freshNs();
    const created = await fx.call('POST', secretsPath(ns), {
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

    const again = await fx.call('POST', secretsPath(ns), { metadata: { name: 'x' } });
    assert.equal(again.status, 409);
    assert.deepEqual(
      again.body,
      failureStatus(409, 'AlreadyExists', 'secrets "x" already exists', { name: 'x', kind: 'secrets' }),
    );
  });

  test('get of a missing secret is 404 NotFound with a Status body', async () => {
    const res = await fx.call('GET', secretsPath(freshNs(), 'nope'));
    assert.equal(res.status, 404);
    assert.equal(res.contentType, 'application/json');
    assert.deepEqual(
      res.body,
      failureStatus(404, 'NotFound', 'secrets "nope" not found', { name: 'nope', kind: 'secrets' }),
    );
  });

  test('replace with a stale resourceVersion is 409 Conflict; without one it is allowed; of a missing secret 404', async () => {
    const ns = freshNs();
    const first = await fx.call('POST', secretsPath(ns), { metadata: { name: 'x' }, data: { a: b64('1') } });
    const rv1 = String(rvOf(first));
    const second = await fx.call('PUT', secretsPath(ns, 'x'), {
      metadata: { name: 'x', resourceVersion: rv1 },
      data: { a: b64('2') },
    });
    assert.equal(second.status, 200);
    assert.ok(rvOf(second) > Number(rv1));

    const stale = await fx.call('PUT', secretsPath(ns, 'x'), {
      metadata: { name: 'x', resourceVersion: rv1 },
      data: { a: b64('3') },
    });
    assert.equal(stale.status, 409);
    assert.deepEqual(
      stale.body,
      failureStatus(
        409,
        'Conflict',
        'Operation cannot be fulfilled on secrets "x": the object has been modified; please apply your changes to the latest version and try again',
        { name: 'x', kind: 'secrets' },
      ),
    );

    const blind = await fx.call('PUT', secretsPath(ns, 'x'), { metadata: { name: 'x' }, data: { a: b64('4') } });
    assert.equal(blind.status, 200);
    assert.deepEqual(blind.body.data, { a: b64('4') });
    assert.equal(
      (blind.body.metadata as Record<string, string>).uid,
      (first.body.metadata as Record<string, string>).uid,
    );

    const missing = await fx.call('PUT', secretsPath(ns, 'y'), { metadata: { name: 'y' } });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.reason, 'NotFound');
  });

  test('stringData is merged into data, wins over data, and is never returned', async () => {
    const ns = freshNs();
    const res = await fx.call('POST', secretsPath(ns), {
      metadata: { name: 'x' },
      data: { a: b64('from-data'), b: b64('kept') },
      stringData: { a: 'from-stringData', c: 'plain' },
    });
    assert.equal(res.status, 201);
    assert.equal(res.body.stringData, undefined);
    assert.deepEqual(res.body.data, { a: b64('from-stringData'), b: b64('kept'), c: b64('plain') });
    const got = await fx.call('GET', secretsPath(ns, 'x'));
    assert.equal(got.body.stringData, undefined);
    assert.equal(fx.emu.secrets(ns)[0]?.stringData, undefined);
  });

  test('delete answers 200 with a Success Status carrying the uid, then the secret is gone', async () => {
    const ns = freshNs();
    const created = await fx.call('POST', secretsPath(ns), { metadata: { name: 'x' } });
    const uid = (created.body.metadata as Record<string, string>).uid;
    const res = await fx.call('DELETE', secretsPath(ns, 'x'));
    assert.equal(res.status, 200);
    assert.deepEqual(res.body, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name: 'x', kind: 'secrets', uid },
    });
    assert.equal((await fx.call('GET', secretsPath(ns, 'x'))).status, 404);
    assert.equal((await fx.call('DELETE', secretsPath(ns, 'x'))).status, 404);
  });

  test('list answers a SecretList with the current resourceVersion and honours label selectors', async () => {
    const ns = freshNs();
    await fx.call('POST', secretsPath(ns), { metadata: { name: 'b', labels: { team: 'x' } } });
    await fx.call('POST', secretsPath(ns), { metadata: { name: 'a', labels: { team: 'y' } } });
    await fx.call('POST', secretsPath(freshNs()), { metadata: { name: 'elsewhere' } });
    const list = await fx.call('GET', secretsPath(ns));
    assert.equal(list.status, 200);
    assert.equal(list.body.kind, 'SecretList');
    assert.equal(list.body.apiVersion, 'v1');
    assert.match((list.body.metadata as Record<string, string>).resourceVersion ?? '', /^\d+$/);
    const items = list.body.items as { metadata: { name: string } }[];
    assert.deepEqual(
      items.map((i) => i.metadata.name),
      ['a', 'b'],
    );
    const selected = await fx.call('GET', `${secretsPath(ns)}?labelSelector=${encodeURIComponent('team=x')}`);
    assert.deepEqual(
      (selected.body.items as { metadata: { name: string } }[]).map((i) => i.metadata.name),
      ['b'],
    );
  });

  test('every write gets a higher resourceVersion than the last', async () => {
    const ns = freshNs();
    const seen: number[] = [];
    seen.push(rvOf(await fx.call('POST', secretsPath(ns), { metadata: { name: 'a' } })));
    seen.push(rvOf(await fx.call('POST', secretsPath(ns), { metadata: { name: 'b' } })));
    seen.push(rvOf(await fx.call('PUT', secretsPath(ns, 'a'), { metadata: { name: 'a' }, data: { k: b64('1') } })));
    seen.push(
      rvOf(
        await fx.call(
          'PATCH',
          secretsPath(ns, 'b'),
          { data: { k: b64('2') } },
          { contentType: PatchStrategy.MergePatch },
        ),
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
    const ok = await fx.call('POST', secretsPath(ns), { metadata: { name: 'full' }, data: { a: atLimit } });
    assert.equal(ok.status, 201);
    const over = await fx.call('POST', secretsPath(ns), {
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
    const res = await fx.call('POST', secretsPath(freshNs()), {
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
      const res = await fx.call('POST', secretsPath(freshNs()), { metadata: { name } });
      assert.equal(res.status, 422, name);
      assert.ok(causesOf(res).every(([f]) => f === 'metadata.name'));
    }
    const unnamed = await fx.call('POST', secretsPath(freshNs()), { metadata: {} });
    assert.equal(unnamed.status, 422);
    assert.deepEqual(causesOf(unnamed), [['metadata.name', 'FieldValueRequired']]);
  });

  test('the data of an immutable secret cannot change, and type never can', async () => {
    const ns = freshNs();
    await fx.call('POST', secretsPath(ns), { metadata: { name: 'frozen' }, immutable: true, data: { a: b64('1') } });
    const changed = await fx.call('PUT', secretsPath(ns, 'frozen'), {
      metadata: { name: 'frozen' },
      immutable: true,
      data: { a: b64('2') },
    });
    assert.equal(changed.status, 422);
    assert.deepEqual(causesOf(changed), [['data', 'FieldValueForbidden']]);
    const same = await fx.call('PUT', secretsPath(ns, 'frozen'), {
      metadata: { name: 'frozen', labels: { now: 'labelled' } },
      immutable: true,
      data: { a: b64('1') },
    });
    assert.equal(same.status, 200);

    await fx.call('POST', secretsPath(ns), { metadata: { name: 'typed' }, data: { a: b64('1') } });
    const retyped = await fx.call(
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
    const res = await fx.call('POST', secretsPath(freshNs()), {
      metadata: { name: 'x' },
      data: { a: 'not base64!' },
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.reason, 'BadRequest');
    assert.match(String(res.body.message), /illegal base64 data at input byte/);
  });
});
