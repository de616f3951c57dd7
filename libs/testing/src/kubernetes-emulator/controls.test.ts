import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { freshNs, secretsPath, failureStatus, useKubernetesEmulator } from './test-client.js';

const fx = useKubernetesEmulator();

describe('authentication, failure injection, latency, request log', () => {
  test('a missing or wrong bearer token is 401 Unauthorized', async () => {
    for (const token of [null, 'wrong']) {
      const res = await fx.call('GET', secretsPath(freshNs()), undefined, { token });
      assert.equal(res.status, 401);
      assert.equal(res.contentType, 'application/json');
      assert.deepEqual(res.body, failureStatus(401, 'Unauthorized', 'Unauthorized'));
    }
  });

  test('failNext answers the next n requests with the status, then recovers', async () => {
    const ns = freshNs();
    fx.emu.failNext(2, 503);
    assert.equal((await fx.call('GET', secretsPath(ns))).status, 503);
    const forbidden = await fx.call('GET', secretsPath(ns));
    assert.equal(forbidden.status, 503);
    assert.equal(forbidden.body.reason, 'ServiceUnavailable');
    assert.equal((await fx.call('GET', secretsPath(ns))).status, 200);

    fx.emu.failNext(1, 403);
    const denied = await fx.call('GET', secretsPath(ns, 'x'));
    assert.equal(denied.status, 403);
    assert.equal(denied.body.reason, 'Forbidden');
    assert.match(String(denied.body.message), new RegExp(`cannot get resource "secrets" .* namespace "${ns}"`));

    fx.emu.failNext(1, 0);
    await assert.rejects(
      fetch(`${fx.emu.url}${secretsPath(ns)}`, { headers: { authorization: `Bearer ${fx.emu.token}` } }),
    );
    assert.equal((await fx.call('GET', secretsPath(ns))).status, 200);
  });

  test('setLatency delays responses', async () => {
    fx.emu.setLatency(150);
    try {
      const started = performance.now();
      await fx.call('GET', secretsPath(freshNs()));
      assert.ok(performance.now() - started >= 140);
    } finally {
      fx.emu.setLatency(0);
    }
  });

  test('the request log records method, path, query and status, never headers', async () => {
    const ns = freshNs();
    await fx.call('GET', `${secretsPath(ns)}?labelSelector=a%3Db`);
    const entry = fx.emu
      .requests()
      .reverse()
      .find((r) => r.path === secretsPath(ns));
    assert.deepEqual(entry, { method: 'GET', path: secretsPath(ns), query: { labelSelector: 'a=b' }, status: 200 });
    assert.ok(!JSON.stringify(fx.emu.requests()).includes(fx.emu.token));
  });
});
