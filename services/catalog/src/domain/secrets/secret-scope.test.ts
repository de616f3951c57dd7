import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatchkeyError } from '@latchkey/errors';
import { validateKey } from './secret-scope.js';

test('the secret keys . and .. are refused (path segments in every backend with paths); other dotted keys are fine', () => {
  for (const key of ['.', '..']) {
    assert.throws(
      () => validateKey(key),
      (e: unknown) =>
        e instanceof LatchkeyError && e.code === 'secret.invalid_key' && /other than \. and \.\./.test(e.message),
      key,
    );
  }
  for (const key of ['.env', '..x', 'a..b', '...', 'db.password']) validateKey(key);
});
