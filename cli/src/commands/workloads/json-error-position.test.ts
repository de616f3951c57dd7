import assert from 'node:assert/strict';
import { test } from 'node:test';
import { findJsonError } from './json-error-position.js';

test('valid JSON has no error', () => {
  for (const text of ['{}', ' [1, -2.5e3, "a\\u00e9\\n", true, false, null, {"a": {"b": []}}] ', '"x"', '0']) {
    assert.equal(findJsonError(text), undefined, text);
    assert.doesNotThrow(() => JSON.parse(text));
  }
});

test('reports line, column and position of the first error', () => {
  assert.deepEqual(findJsonError('{\n  "a": 1,\n  "b" 2\n}'), {
    position: 18,
    line: 3,
    column: 7,
    reason: 'expected \':\' after the property name, found character "2"',
  });
  assert.equal(findJsonError('{"a": 1,}')?.position, 8);
  assert.equal(findJsonError('{"a": 1')?.reason, 'unexpected end of input');
  assert.equal(findJsonError("{'a': 1}")?.position, 1);
  assert.equal(findJsonError('[1] x')?.position, 4);
  assert.equal(findJsonError('{"a": 01}')?.position, 7);
  assert.equal(findJsonError('"tab\there"')?.reason, 'control character in string (escape it)');
});

test('agrees with JSON.parse on what is invalid', () => {
  for (const text of ['', '{', '[1,]', 'tru', '{"a":}', '-', '1.', '"\\x"', 'nul', '{"a" : 1 "b": 2}']) {
    assert.throws(() => JSON.parse(text), SyntaxError, text);
    assert.notEqual(findJsonError(text), undefined, text);
  }
});
