import assert from 'node:assert/strict';
import { test } from 'node:test';
import { relayRetryDelayMs } from './outbox.js';

test("the relay's wait after failures doubles from 400 ms to a 5 s cap, each ±25 % at random, never shorter or longer", () => {
  const low = () => 0;
  const high = () => 1 - Number.EPSILON;
  const mid = () => 0.5;
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 10, 1000].map((n) => relayRetryDelayMs(n, mid)),
    [400, 800, 1600, 3200, 5000, 5000, 5000, 5000],
  );
  for (const failures of [1, 2, 3, 4, 5, 50]) {
    const base = Math.min(5000, 200 * 2 ** failures);
    assert.equal(relayRetryDelayMs(failures, low), Math.round(base * 0.75), `lowest after ${failures}`);
    assert.equal(relayRetryDelayMs(failures, high), Math.round(base * 1.25), `highest after ${failures}`);
  }
  // The jitter spreads replicas apart: many draws give many different waits, all within the bounds.
  const draws = Array.from({ length: 200 }, () => relayRetryDelayMs(3));
  assert.ok(new Set(draws).size > 20, 'the waits differ');
  assert.ok(
    draws.every((d) => d >= 1200 && d <= 2000),
    String(draws),
  );
  assert.equal(relayRetryDelayMs(0, mid), 400, 'a first wait is never shorter than after one failure');
});
