import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from './wait-for.js';

test('waitFor returns the first truthy value', async () => {
  let calls = 0;
  const value = await waitFor(() => (++calls >= 3 ? { calls } : undefined), { what: 'the third call', intervalMs: 1 });
  assert.deepEqual(value, { calls: 3 });
});

test('waitFor times out with a message naming what it waited for', async () => {
  await assert.rejects(
    waitFor(() => false, { what: 'the moon to turn blue', timeoutMs: 100, intervalMs: 10 }),
    {
      message: 'timed out after 100ms waiting for the moon to turn blue',
    },
  );
});

test('waitFor reports the last error thrown by the polled function', async () => {
  let n = 0;
  await assert.rejects(
    waitFor(
      () => {
        n += 1;
        throw new Error(`attempt ${n} refused`);
      },
      { what: 'a connection', timeoutMs: 60, intervalMs: 5 },
    ),
    (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.match(err.message, /^timed out after 60ms waiting for a connection \(last error: attempt \d+ refused\)$/);
      assert.ok(err.cause instanceof Error);
      return true;
    },
  );
});

test('waitFor treats errors as not-yet and keeps polling until success', async () => {
  let n = 0;
  const value = await waitFor(
    async () => {
      n += 1;
      if (n < 3) throw new Error('not yet');
      return 'ok';
    },
    { what: 'recovery', intervalMs: 1 },
  );
  assert.equal(value, 'ok');
});
