import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { inspect } from 'node:util';
import { LatchkeyError } from '@latchkey/errors';
import type { ValueBackend } from '../src/domain/value-backend.js';

export interface ContractSubject {
  backend: ValueBackend;
  /** Makes the backend's store unreachable (stop or seal it). */
  makeUnavailable: () => Promise<void>;
  cleanup: () => Promise<void>;
}

/**
 * The behaviour every managed backend shares. Each case gets a fresh
 * subject from `make` (given the test, whose end may clean up too).
 */
export function valueBackendContract(name: string, make: (t: TestContext) => Promise<ContractSubject>): void {
  const withSubject = (title: string, fn: (s: ContractSubject) => Promise<void>): void =>
    void test(`${name} backend: ${title}`, async (t) => {
      const s = await make(t);
      try {
        await fn(s);
      } finally {
        await s.cleanup();
      }
    });

  withSubject('a written version reads back by version, and versions stay apart', async ({ backend }) => {
    const v1 = await backend.write({
      scope: 'analytics',
      key: 'db.password',
      version: 1,
      value: Buffer.from('first-value'),
    });
    const v2 = await backend.write({
      scope: 'analytics',
      key: 'db.password',
      version: 2,
      value: Buffer.from('second-value'),
    });
    assert.equal(
      (await backend.read({ scope: 'analytics', key: 'db.password', version: 1, ref: v1.ref }))?.toString(),
      'first-value',
    );
    assert.equal(
      (await backend.read({ scope: 'analytics', key: 'db.password', version: 2, ref: v2.ref }))?.toString(),
      'second-value',
    );
  });

  withSubject('scopes do not share values: a domain key and the global key of that name', async ({ backend }) => {
    const d = await backend.write({ scope: 'analytics', key: 'token', version: 1, value: Buffer.from('domain-value') });
    const g = await backend.write({ scope: 'global', key: 'token', version: 1, value: Buffer.from('global-value') });
    const f = await backend.write({ scope: 'finance', key: 'token', version: 1, value: Buffer.from('finance-value') });
    assert.equal(
      (await backend.read({ scope: 'analytics', key: 'token', version: 1, ref: d.ref }))?.toString(),
      'domain-value',
    );
    assert.equal(
      (await backend.read({ scope: 'global', key: 'token', version: 1, ref: g.ref }))?.toString(),
      'global-value',
    );
    assert.equal(
      (await backend.read({ scope: 'finance', key: 'token', version: 1, ref: f.ref }))?.toString(),
      'finance-value',
    );
  });

  withSubject('remove deletes every version, and is idempotent', async ({ backend }) => {
    const a = await backend.write({ scope: 'analytics', key: 'gone', version: 1, value: Buffer.from('value-one') });
    const b = await backend.write({ scope: 'analytics', key: 'gone', version: 2, value: Buffer.from('value-two') });
    const kept = await backend.write({ scope: 'analytics', key: 'kept', version: 1, value: Buffer.from('value-kept') });
    await backend.remove({ scope: 'analytics', key: 'gone' });
    await backend.remove({ scope: 'analytics', key: 'gone' });
    assert.equal(await backend.read({ scope: 'analytics', key: 'gone', version: 1, ref: a.ref }), undefined);
    assert.equal(await backend.read({ scope: 'analytics', key: 'gone', version: 2, ref: b.ref }), undefined);
    assert.equal(
      (await backend.read({ scope: 'analytics', key: 'kept', version: 1, ref: kept.ref }))?.toString(),
      'value-kept',
    );
  });

  withSubject('concurrent writes of different keys into one scope all land', async ({ backend }) => {
    const keys = Array.from({ length: 12 }, (_, i) => `key-${i}`);
    const refs = await Promise.all(
      keys.map((key) => backend.write({ scope: 'analytics', key, version: 1, value: Buffer.from(`value-of-${key}`) })),
    );
    for (const [i, key] of keys.entries()) {
      const v = await backend.read({ scope: 'analytics', key, version: 1, ref: refs[i]!.ref });
      assert.equal(v?.toString(), `value-of-${key}`);
    }
  });

  withSubject('an unavailable store is a retryable error that names no value', async (s) => {
    const canary = `canary-${randomBytes(8).toString('hex')}`;
    await s.makeUnavailable();
    const err = await s.backend.write({ scope: 'analytics', key: 'k', version: 1, value: Buffer.from(canary) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof LatchkeyError, `expected a LatchkeyError, got ${inspect(err)}`);
    assert.equal(err.retryable, true, `${err.code} should be retryable`);
    assert.ok(!inspect(err, { depth: 10 }).includes(canary), 'the error names no value');
  });
}
