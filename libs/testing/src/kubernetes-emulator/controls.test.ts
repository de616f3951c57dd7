import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startKubernetesEmulator } from './server.js';
import { call, freshNs, secretsPath, failureStatus } from './test-client.js';
import type { KubernetesEmulator } from './types.js';

let emu: KubernetesEmulator;
before(async () => {
  emu = await startKubernetesEmulator({ token: 'emulator-test-token' });
});
after(async () => {
  await emu?.stop();
});

describe('authentication, failure injection, latency, request log', () => {
  test('a missing or wrong bearer token is 401 Unauthorized', async () => {
    for (const token of [null, 'wrong']) {
      const res = await call(emu, 'GET', secretsPath(freshNs()), undefined, { token });
      assert.equal(res.status, 401);
      assert.equal(res.contentType, 'application/json');
      assert.deepEqual(res.body, failureStatus(401, 'Unauthorized', 'Unauthorized'));
    }
  });

  test('failNext answers the next n requests with the status, then recovers', async () => {
    const ns = freshNs();
    emu.failNext(2, 503);
    assert.equal((await call(emu, 'GET', secretsPath(ns))).status, 503);
    const forbidden = await call(emu, 'GET', secretsPath(ns));
    assert.equal(forbidden.status, 503);
    assert.equal(forbidden.body.reason, 'ServiceUnavailable');
    assert.equal((await call(emu, 'GET', secretsPath(ns))).status, 200);

    emu.failNext(1, 403);
    const denied = await call(emu, 'GET', secretsPath(ns, 'x'));
    assert.equal(denied.status, 403);
    assert.equal(denied.body.reason, 'Forbidden');
    assert.match(String(denied.body.message), new RegExp(`cannot get resource "secrets" .* namespace "${ns}"`));

    emu.failNext(1, 0);
    await assert.rejects(fetch(`${emu.url}${secretsPath(ns)}`, { headers: { authorization: `Bearer ${emu.token}` } }));
    assert.equal((await call(emu, 'GET', secretsPath(ns))).status, 200);
  });

  test('setLatency delays responses', async () => {
    emu.setLatency(150);
    try {
      const started = performance.now();
      await call(emu, 'GET', secretsPath(freshNs()));
      assert.ok(performance.now() - started >= 140);
    } finally {
      emu.setLatency(0);
    }
  });

  test('the request log records method, path, query and status, never headers', async () => {
    const ns = freshNs();
    await call(emu, 'GET', `${secretsPath(ns)}?labelSelector=a%3Db`);
    const entry = emu
      .requests()
      .reverse()
      .find((r) => r.path === secretsPath(ns));
    assert.deepEqual(entry, { method: 'GET', path: secretsPath(ns), query: { labelSelector: 'a=b' }, status: 200 });
    assert.ok(!JSON.stringify(emu.requests()).includes(emu.token));
  });
});
