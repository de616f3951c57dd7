import assert from 'node:assert/strict';
import { LatchkeyError } from '@latchkey/errors';

/** Asserts that `p` rejects with a LatchkeyError of this kind and code, and returns it. */
export async function rejectsWith(p: Promise<unknown>, kind: string, code: string): Promise<LatchkeyError> {
  const err = await p.then(
    () => assert.fail(`expected ${code}, got a response`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof LatchkeyError, `a LatchkeyError, not ${String(err)}`);
  assert.equal(err.kind, kind);
  assert.equal(err.code, code);
  return err;
}
