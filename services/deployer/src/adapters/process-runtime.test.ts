import { test } from 'node:test';
import assert from 'node:assert/strict';
import { propertiesLine } from './process-runtime.js';

test('a Spark conf value survives properties-file escaping whatever it holds', () => {
  assert.equal(propertiesLine('spark.a', 'p=w:d#x!\\y'), 'spark.a=p\\=w\\:d\\#x\\!\\\\y');
  assert.equal(propertiesLine('k', 'line1\nline2\t'), 'k=line1\\nline2\\t');
  assert.equal(propertiesLine('k', ' lead  double'), 'k=\\ lead\\  double');
});
