import { test } from 'node:test';
import assert from 'node:assert/strict';
import { percentile, ratio, summarize } from './stats.js';

test('percentiles interpolate between the closest ranks', () => {
  assert.equal(percentile([1, 2, 3, 4], 50), 2.5);
  assert.equal(percentile([1, 2, 3, 4], 0), 1);
  assert.equal(percentile([1, 2, 3, 4], 100), 4);
  assert.equal(percentile([7], 99), 7);
  // 200 samples 1..200: p99 sits at 0-based rank 197.01, between 198 and 199.
  const hundreds = Array.from({ length: 200 }, (_, i) => i + 1);
  assert.ok(Math.abs(percentile(hundreds, 99) - 198.01) < 1e-9);
  assert.equal(percentile(hundreds, 50), 100.5);
});

test('percentiles refuse no samples and impossible ranks', () => {
  assert.throws(() => percentile([], 50), RangeError);
  assert.throws(() => percentile([1], 101), RangeError);
  assert.throws(() => percentile([1], Number.NaN), RangeError);
});

test('a summary sorts its samples and leaves the input as it was', () => {
  const samples = [5, 1, 4, 2, 3];
  const s = summarize(samples);
  assert.deepEqual(samples, [5, 1, 4, 2, 3]);
  assert.equal(s.n, 5);
  assert.equal(s.min, 1);
  assert.equal(s.max, 5);
  assert.equal(s.p50, 3);
  assert.equal(s.mean, 3);
  assert.ok(Math.abs(s.p99 - 4.96) < 1e-9);
});

test('a ratio to a zero or missing baseline is undefined, not Infinity', () => {
  assert.equal(ratio(3, 2), 1.5);
  assert.equal(ratio(3, 0), undefined);
  assert.equal(ratio(3, undefined), undefined);
});
