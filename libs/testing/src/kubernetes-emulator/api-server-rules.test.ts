/**
 * What a real API server refuses or delays, for what Latchkey sends: a
 * missing namespace, bad names and label values, objects and requests over
 * the size limits, graceful Pod deletion and garbage collection that comes
 * after the owner is gone; and the discovery documents and Tables kubectl reads.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startedForTests } from '../emulator-common/test-fixture.js';
import { waitFor } from '../wait-for.js';
import { startKubernetesEmulator } from './server.js';
import { b64, call, failureStatus, secretsPath } from './test-client.js';

/** Long enough to see an owned Secret outlive its Pod, short enough for a test. */
const GC_DELAY_MS = 800;
const emulator = startedForTests('the Kubernetes emulator', () =>
  startKubernetesEmulator({ token: 'rules-token', namespaces: ['team'], gcDelayMs: GC_DELAY_MS }),
);
const api = (method: string, path: string, body?: unknown, contentType?: string) =>
  call(emulator(), method, path, body, contentType === undefined ? {} : { contentType });
const podPath = (ns: string, name?: string) => `/api/v1/namespaces/${ns}/pods${name === undefined ? '' : `/${name}`}`;
const pod = (name: string, spec: Record<string, unknown> = {}) => ({
  metadata: { name },
  spec: { containers: [{ name: 'main', image: 'busybox' }], ...spec },
});

describe('namespaces', () => {
  test('creating in a namespace that does not exist answers 404 NotFound naming the namespace', async () => {
    for (const path of [secretsPath('latchkey-nowhere'), podPath('latchkey-nowhere')]) {
      const res = await api('POST', path, pod('w1'));
      assert.equal(res.status, 404);
      assert.deepEqual(
        res.body,
        failureStatus(404, 'NotFound', 'namespaces "latchkey-nowhere" not found', {
          name: 'latchkey-nowhere',
          kind: 'namespaces',
        }),
      );
    }
  });

  test('a created namespace exists (get, list), accepts objects, and a second create is 409', async () => {
    const created = await api('POST', '/api/v1/namespaces', { metadata: { name: 'latchkey-analytics' } });
    assert.equal(created.status, 201);
    assert.equal((created.body.status as { phase: string }).phase, 'Active');
    assert.equal((await api('GET', '/api/v1/namespaces/latchkey-analytics')).status, 200);
    const list = await api('GET', '/api/v1/namespaces');
    assert.deepEqual(
      (list.body.items as { metadata: { name: string } }[]).map((n) => n.metadata.name),
      ['latchkey-analytics', 'team'],
    );
    assert.equal((await api('POST', secretsPath('latchkey-analytics'), { metadata: { name: 's' } })).status, 201);
    const again = await api('POST', '/api/v1/namespaces', { metadata: { name: 'latchkey-analytics' } });
    assert.equal(again.status, 409);
    assert.equal(again.body.reason, 'AlreadyExists');
  });

  test('a namespace name that is not a DNS-1123 label of at most 63 characters is 422 Invalid', async () => {
    const trailing = await api('POST', '/api/v1/namespaces', { metadata: { name: 'latchkey-a-' } });
    assert.equal(trailing.status, 422);
    assert.equal(trailing.body.reason, 'Invalid');
    assert.match(
      String(trailing.body.message),
      /^Namespace "latchkey-a-" is invalid: metadata\.name: Invalid value: "latchkey-a-": a lowercase RFC 1123 label must consist of/,
    );
    assert.deepEqual((trailing.body.details as { kind: string; causes: unknown[] }).kind, 'Namespace');
    const long = `latchkey-${'d'.repeat(55)}`;
    const tooLong = await api('POST', '/api/v1/namespaces', { metadata: { name: long } });
    assert.equal(tooLong.status, 422);
    assert.deepEqual((tooLong.body.details as { causes: unknown[] }).causes, [
      {
        reason: 'FieldValueInvalid',
        message: `Invalid value: "${long}": must be no more than 63 characters`,
        field: 'metadata.name',
      },
    ]);
  });
});

describe('validation and limits', () => {
  test('a label value that ends in "-" or is over 63 characters is 422 Invalid on metadata.labels', async () => {
    const bad = await api('POST', secretsPath('team'), {
      metadata: { name: 'v1', labels: { 'latchkey.dev/domain': 'a-', 'latchkey.dev/long': 'x'.repeat(64) } },
    });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.reason, 'Invalid');
    const causes = (bad.body.details as { causes: { field: string; message: string }[] }).causes;
    assert.deepEqual(
      causes.map((c) => c.field),
      ['metadata.labels', 'metadata.labels'],
    );
    assert.match(causes[0]?.message ?? '', /^Invalid value: "a-": a valid label must be an empty string or consist of/);
    assert.match(causes[1]?.message ?? '', /must be no more than 63 characters$/);
    const badKey = await api('POST', podPath('team'), {
      ...pod('p1'),
      metadata: { name: 'p1', labels: { '-x': 'y' } },
    });
    assert.equal(badKey.status, 422);
    assert.match(String(badKey.body.message), /metadata\.labels: Invalid value: "-x": name part must consist of/);
  });

  test('a Secret over 1 MiB is 422 Invalid; a body over 3 MiB is 413 before anything is parsed', async () => {
    const over = await api('POST', secretsPath('team'), {
      metadata: { name: 'big' },
      data: { a: b64('x'.repeat(1_048_577)) },
    });
    assert.equal(over.status, 422);
    assert.equal(over.body.message, 'Secret "big" is invalid: data: Too long: must have at most 1048576 bytes');
    const huge = await api('POST', secretsPath('team'), {
      metadata: { name: 'huge' },
      data: { a: b64('x'.repeat(2_400_000)) },
    });
    assert.equal(huge.status, 413);
    assert.deepEqual(
      huge.body,
      failureStatus(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'),
    );
    assert.deepEqual(
      emulator()
        .secrets('team')
        .filter((s) => s.metadata.name === 'big' || s.metadata.name === 'huge'),
      [],
    );
  });
});

describe('pod deletion', () => {
  test('a scheduled Pod stays Terminating for its grace period, then goes; its Secret goes after it', async () => {
    const emu = emulator();
    const created = await api('POST', podPath('team'), pod('g1', { terminationGracePeriodSeconds: 1 }));
    const uid = (created.body.metadata as { uid: string }).uid;
    await api('POST', secretsPath('team'), {
      metadata: { name: 'g1-values', ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'g1', uid }] },
      stringData: { A: 'a' },
    });
    emu.setPodPhase('team', 'g1', 'Running');
    const deletedAt = Date.now();
    const del = await api('DELETE', podPath('team', 'g1'));
    assert.equal(del.status, 200);
    const m = del.body.metadata as { deletionTimestamp?: string; deletionGracePeriodSeconds?: number };
    assert.equal(m.deletionGracePeriodSeconds, 1);
    assert.ok(m.deletionTimestamp !== undefined, 'marked for deletion');
    // Still there, Terminating, and so is the Secret it owns.
    assert.equal((await api('GET', podPath('team', 'g1'))).status, 200);
    assert.ok(emu.secrets('team').some((s) => s.metadata.name === 'g1-values'));
    await waitFor(() => emu.pods('team').every((p) => p.metadata.name !== 'g1'), { what: 'the Pod gone' });
    const goneAt = Date.now();
    assert.ok(goneAt - deletedAt >= 900, `kept for its grace period (gone after ${goneAt - deletedAt} ms)`);
    assert.ok(
      emu.secrets('team').some((s) => s.metadata.name === 'g1-values'),
      'the Secret outlives its owner',
    );
    await waitFor(() => emu.secrets('team').every((s) => s.metadata.name !== 'g1-values'), {
      what: 'the owned Secret collected',
    });
  });

  test("DeleteOptions.gracePeriodSeconds overrides the Pod's own; 0 deletes at once; finished Pods go at once", async () => {
    const emu = emulator();
    await api('POST', podPath('team'), pod('g2'));
    emu.setPodPhase('team', 'g2', 'Running');
    const first = await api('DELETE', podPath('team', 'g2'), {
      kind: 'DeleteOptions',
      apiVersion: 'v1',
      gracePeriodSeconds: 120,
    });
    assert.equal((first.body.metadata as { deletionGracePeriodSeconds: number }).deletionGracePeriodSeconds, 120);
    // A second delete may shorten the grace period; 0 removes the Pod now.
    const now = await api('DELETE', `${podPath('team', 'g2')}?gracePeriodSeconds=0`);
    assert.equal(now.status, 200);
    assert.equal((await api('GET', podPath('team', 'g2'))).status, 404);

    await api('POST', podPath('team'), pod('g3'));
    emu.setPodPhase('team', 'g3', 'Running');
    emu.setPodPhase('team', 'g3', 'Succeeded');
    await api('DELETE', podPath('team', 'g3'));
    assert.equal((await api('GET', podPath('team', 'g3'))).status, 404, 'a finished Pod has nothing to wait for');

    // A Terminating Pod whose container stops is removed by the kubelet.
    await api('POST', podPath('team'), pod('g4'));
    emu.setPodPhase('team', 'g4', 'Running');
    await api('DELETE', podPath('team', 'g4'));
    assert.equal((await api('GET', podPath('team', 'g4'))).status, 200);
    emu.setPodPhase('team', 'g4', 'Failed');
    assert.equal((await api('GET', podPath('team', 'g4'))).status, 404);
  });
});

describe('discovery and server-side printing', () => {
  test('/version, /api, /api/v1 and /apis answer the documents clients read first', async () => {
    const version = await api('GET', '/version');
    assert.equal(version.status, 200);
    assert.equal(version.body.major, '1');
    const apis = await api('GET', '/api');
    assert.deepEqual(apis.body.versions, ['v1']);
    const v1 = await api('GET', '/api/v1');
    assert.equal(v1.body.kind, 'APIResourceList');
    assert.deepEqual(
      (v1.body.resources as { name: string }[]).map((r) => r.name),
      ['events', 'namespaces', 'pods', 'pods/log', 'secrets'],
    );
    const groups = await api('GET', '/apis');
    assert.deepEqual(groups.body, { kind: 'APIGroupList', apiVersion: 'v1', groups: [] });
  });

  test('a Table of Secrets shows type and key count, never a value', async () => {
    await api('POST', secretsPath('team'), { metadata: { name: 'tabled' }, stringData: { A: 'table-canary', B: 'b' } });
    const res = await fetch(`${emulator().url}${secretsPath('team', 'tabled')}`, {
      headers: {
        authorization: `Bearer ${emulator().token}`,
        accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json',
      },
    });
    const text = await res.text();
    const body = JSON.parse(text) as { kind: string; rows: { cells: unknown[] }[] };
    assert.equal(body.kind, 'Table');
    assert.deepEqual(body.rows[0]?.cells.slice(0, 3), ['tabled', 'Opaque', 2]);
    assert.ok(!text.includes(b64('table-canary')) && !text.includes('table-canary'));
  });
});
