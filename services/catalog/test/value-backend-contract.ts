import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import { inspect } from 'node:util';
import { LatchkeyError } from '@latchkey/errors';
import type { ValueBackend } from '../src/domain/value-backend.js';

/** Writes `text` as version `version` of scope/key. */
export const writeText = (backend: ValueBackend, scope: string, key: string, version: number, text: string) =>
  backend.write({ scope, key, version, value: Buffer.from(text) });

/** Reads a version back as text (undefined when it is gone). */
export const readText = async (backend: ValueBackend, scope: string, key: string, version: number, ref: string) =>
  (await backend.read({ scope, key, version, ref }))?.toString();

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
    const v1 = await writeText(backend, 'analytics', 'db.password', 1, 'first-value');
    const v2 = await writeText(backend, 'analytics', 'db.password', 2, 'second-value');
    assert.equal(await readText(backend, 'analytics', 'db.password', 1, v1.ref), 'first-value');
    assert.equal(await readText(backend, 'analytics', 'db.password', 2, v2.ref), 'second-value');
  });

  withSubject('scopes do not share values: a domain key and the global key of that name', async ({ backend }) => {
    const values = { analytics: 'domain-value', global: 'global-value', finance: 'finance-value' };
    const written: { scope: string; text: string; ref: string }[] = [];
    for (const [scope, text] of Object.entries(values)) {
      written.push({ scope, text, ref: (await writeText(backend, scope, 'token', 1, text)).ref });
    }
    for (const { scope, text, ref } of written) assert.equal(await readText(backend, scope, 'token', 1, ref), text);
  });

  withSubject(
    'destroyVersions destroys exactly the listed versions of that key, and is idempotent',
    async ({ backend }) => {
      const v1 = await writeText(backend, 'analytics', 'rolled', 1, 'version-one');
      const v2 = await writeText(backend, 'analytics', 'rolled', 2, 'version-two');
      const v3 = await writeText(backend, 'analytics', 'rolled', 3, 'version-three');
      const other = await writeText(backend, 'analytics', 'other', 1, 'other-one');
      const listed = [
        { version: 1, ref: v1.ref },
        { version: 2, ref: v2.ref },
      ];
      await backend.destroyVersions({ scope: 'analytics', key: 'rolled', versions: listed });
      await backend.destroyVersions({ scope: 'analytics', key: 'rolled', versions: listed });
      await backend.destroyVersions({ scope: 'analytics', key: 'rolled', versions: [] });
      assert.equal(await readText(backend, 'analytics', 'rolled', 1, v1.ref), undefined);
      assert.equal(await readText(backend, 'analytics', 'rolled', 2, v2.ref), undefined);
      assert.equal(await readText(backend, 'analytics', 'rolled', 3, v3.ref), 'version-three');
      assert.equal(await readText(backend, 'analytics', 'other', 1, other.ref), 'other-one');
    },
  );

  withSubject('remove deletes every version, and is idempotent', async ({ backend }) => {
    const a = await writeText(backend, 'analytics', 'gone', 1, 'value-one');
    const b = await writeText(backend, 'analytics', 'gone', 2, 'value-two');
    const kept = await writeText(backend, 'analytics', 'kept', 1, 'value-kept');
    await backend.remove({ scope: 'analytics', key: 'gone' });
    await backend.remove({ scope: 'analytics', key: 'gone' });
    assert.equal(await backend.read({ scope: 'analytics', key: 'gone', version: 1, ref: a.ref }), undefined);
    assert.equal(await backend.read({ scope: 'analytics', key: 'gone', version: 2, ref: b.ref }), undefined);
    assert.equal(await readText(backend, 'analytics', 'kept', 1, kept.ref), 'value-kept');
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
