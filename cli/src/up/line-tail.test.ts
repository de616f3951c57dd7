import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lastErrorMessage, LineTail } from './line-tail.js';

test('keeps only the last lines', () => {
  const tail = new LineTail(2);
  for (const l of ['a', 'b', 'c']) tail.push(l);
  assert.deepEqual(tail.all(), ['b', 'c']);
});

test("finds a service's own error message among its JSON log lines", () => {
  const lines = [
    '{"level":30,"msg":"starting"}',
    '{"level":50,"msg":"port 7402 is already in use"}',
    '{"level":30,"msg":"bye"}',
    'not json',
  ];
  assert.equal(lastErrorMessage(lines), 'port 7402 is already in use');
  assert.equal(lastErrorMessage(['{"level":30,"msg":"only info"}']), 'only info');
  assert.equal(lastErrorMessage(['plain text']), undefined);
});
