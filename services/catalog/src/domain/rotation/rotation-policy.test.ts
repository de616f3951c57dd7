import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatchkeyError } from '@latchkey/errors';
import { formatRotateEvery, parseRotateEvery, rotationDueAt } from './rotation-policy.js';

test('periods in days and hours parse to seconds and show as days when whole', () => {
  assert.equal(parseRotateEvery('90d'), 90 * 86_400);
  assert.equal(parseRotateEvery('36h'), 36 * 3_600);
  assert.equal(parseRotateEvery('never'), null);
  assert.equal(formatRotateEvery(parseRotateEvery('90d')!), '90d');
  assert.equal(formatRotateEvery(parseRotateEvery('36h')!), '36h');
  assert.equal(formatRotateEvery(parseRotateEvery('48h')!), '2d');
  assert.equal(rotationDueAt(new Date('2025-01-01T00:00:00Z'), 36 * 3_600).toISOString(), '2025-01-02T12:00:00.000Z');
});

test('a bad period names itself, shortened, and what is accepted', () => {
  const long = `${'9'.repeat(100)}d`;
  assert.throws(
    () => parseRotateEvery(long),
    (err: unknown) =>
      err instanceof LatchkeyError &&
      err.code === 'secret.invalid_rotation_policy' &&
      err.message.startsWith(`"${'9'.repeat(40)}..." is not a rotation period: use <N>d or <N>h`),
  );
  for (const bad of ['-1d', '1.5d', '1w', ' 90d', '90d ', 'Never']) {
    assert.throws(() => parseRotateEvery(bad), /is not a rotation period/, bad);
  }
});
