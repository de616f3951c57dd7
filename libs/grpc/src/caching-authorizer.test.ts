import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatchkeyError } from '@latchkey/errors';
import { CachingAuthorizer, type CachingAuthorizerOptions } from './caching-authorizer.js';
import type { AuthorizationQuestion, Authorizer, Decision } from '@latchkey/authz';

const ALLOW: Decision = { allowed: true, code: '', reason: '' };
const DENY: Decision = { allowed: false, code: 'ras.permission_denied', reason: 'no' };

/** An Authorizer whose answers the test sets, counting what reaches it. */
class ScriptedAuthorizer implements Authorizer {
  answer: Decision = ALLOW;
  fail = false;
  singles = 0;
  batches: AuthorizationQuestion[][] = [];
  /** When set, answers (decided when asked) wait for it to resolve. */
  gate: Promise<void> | undefined;

  async check(q: AuthorizationQuestion): Promise<Decision> {
    this.singles++;
    const answer = this.answer;
    await this.gate;
    if (this.fail) throw new LatchkeyError('grpc.unavailable', 'ras is down', { kind: 'unavailable' });
    return { ...answer, reason: answer.reason && `${answer.reason} (${q.resource ?? ''})` };
  }

  async checkBatch(qs: AuthorizationQuestion[]): Promise<Decision[]> {
    this.batches.push(qs);
    const answer = this.answer;
    await this.gate;
    if (this.fail) throw new LatchkeyError('grpc.unavailable', 'ras is down', { kind: 'unavailable' });
    return qs.map(() => answer);
  }
}

/** A clock the test moves by hand. */
function fakeClock(): { now: () => number; advance(ms: number): void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

/** A cache over a scripted authorizer, on a clock that stands still. */
function scriptedCache(opts: CachingAuthorizerOptions = {}): { inner: ScriptedAuthorizer; cache: CachingAuthorizer } {
  const inner = new ScriptedAuthorizer();
  return { inner, cache: new CachingAuthorizer(inner, { now: fakeClock().now, ...opts }) };
}

const q = (resource: string, extra: Partial<AuthorizationQuestion> = {}): AuthorizationQuestion => ({
  principal: 'alice',
  action: 'secret.use',
  domain: 'analytics',
  resource,
  ...extra,
});

test('a decision is reused within the TTL and asked again after it', async () => {
  const inner = new ScriptedAuthorizer();
  const clock = fakeClock();
  const cache = new CachingAuthorizer(inner, { now: clock.now });
  assert.deepEqual(await cache.check(q('k')), ALLOW);
  inner.answer = DENY;
  clock.advance(999);
  assert.deepEqual(await cache.check(q('k')), ALLOW);
  assert.equal(inner.singles, 1);
  clock.advance(1);
  assert.equal((await cache.check(q('k'))).allowed, false);
  assert.equal(inner.singles, 2);
});

test('denials are cached too, for the same short while', async () => {
  const inner = new ScriptedAuthorizer();
  inner.answer = DENY;
  const cache = new CachingAuthorizer(inner, { ttlMs: 5000, now: fakeClock().now });
  await cache.check(q('k'));
  inner.answer = ALLOW;
  assert.equal((await cache.check(q('k'))).allowed, false);
  assert.equal(inner.singles, 1);
});

test('invalidate() drops every decision at once', async () => {
  const { inner, cache } = scriptedCache({ ttlMs: 60_000 });
  await cache.check(q('a'));
  await cache.check(q('b'));
  assert.equal(cache.size, 2);
  inner.answer = DENY;
  cache.invalidate();
  assert.equal(cache.size, 0);
  assert.equal((await cache.check(q('a'))).allowed, false);
  assert.equal((await cache.check(q('b'))).allowed, false);
  assert.equal(inner.singles, 4);
});

test('an answer asked for before invalidate() is returned to its caller but not kept', async () => {
  const inner = new ScriptedAuthorizer();
  let release: () => void = () => undefined;
  inner.gate = new Promise((r) => (release = r));
  const cache = new CachingAuthorizer(inner, { ttlMs: 60_000, now: fakeClock().now });
  const early = cache.check(q('k'));
  const earlyBatch = cache.checkBatch([q('j')]);
  cache.invalidate();
  // A question after the invalidation does not join the old one.
  inner.answer = DENY;
  const late = cache.check(q('k'));
  release();
  assert.equal((await early).allowed, true);
  assert.equal((await earlyBatch)[0]?.allowed, true);
  assert.equal((await late).allowed, false);
  inner.gate = undefined;
  assert.equal((await cache.check(q('k'))).allowed, false);
  assert.equal((await cache.check(q('j'))).allowed, false);
});

test('the same question asked twice at once reaches ras once', async () => {
  const { inner, cache } = scriptedCache();
  const [a, b] = await Promise.all([cache.check(q('k')), cache.check(q('k'))]);
  assert.deepEqual(a, b);
  assert.equal(inner.singles, 1);
});

test('errors are not cached', async () => {
  const inner = new ScriptedAuthorizer();
  inner.fail = true;
  const cache = new CachingAuthorizer(inner, { now: fakeClock().now });
  await assert.rejects(cache.check(q('k')), /ras is down/);
  await assert.rejects(cache.checkBatch([q('k')]), /ras is down/);
  inner.fail = false;
  assert.deepEqual(await cache.check(q('k')), ALLOW);
  assert.equal(inner.singles, 2);
});

test('a batch answers hits from the cache and asks the misses once, in one batch, in order', async () => {
  const { inner, cache } = scriptedCache();
  await cache.check(q('cached'));
  inner.answer = DENY;
  const results = await cache.checkBatch([q('new'), q('cached'), q('new'), q('other')]);
  assert.deepEqual(
    results.map((d) => d.allowed),
    [false, true, false, false],
  );
  assert.equal(inner.batches.length, 1);
  assert.deepEqual(
    inner.batches[0]?.map((x) => x.resource),
    ['new', 'other'],
  );
  // Now all four are cached.
  await cache.checkBatch([q('new'), q('cached'), q('other')]);
  assert.equal(inner.batches.length, 1);
  assert.deepEqual(await cache.checkBatch([]), []);
});

test('everything that can change the answer is part of the key; the order of groups is not', async () => {
  const { inner, cache } = scriptedCache();
  await cache.check(q('k', { groups: ['a', 'b'] }));
  await cache.check(q('k', { groups: ['b', 'a'] }));
  assert.equal(inner.singles, 1);
  for (const extra of [
    { groups: ['a'] },
    { principal: 'bob' },
    { action: 'secret.list' },
    { domain: 'finance' },
    { scope: 'global' },
  ]) {
    await cache.check(q('k', extra));
  }
  await cache.check(q('other-key'));
  assert.equal(inner.singles, 7);
});

test('at most maxEntries decisions are kept, the oldest dropped first', async () => {
  const { inner, cache } = scriptedCache({ maxEntries: 2 });
  await cache.check(q('a'));
  await cache.check(q('b'));
  await cache.check(q('c'));
  assert.equal(cache.size, 2);
  await cache.check(q('c'));
  await cache.check(q('b'));
  assert.equal(inner.singles, 3);
  await cache.check(q('a'));
  assert.equal(inner.singles, 4);
});

test('ttlMs 0 turns caching off', async () => {
  const inner = new ScriptedAuthorizer();
  const cache = new CachingAuthorizer(inner, { ttlMs: 0 });
  await cache.check(q('k'));
  await cache.check(q('k'));
  await cache.checkBatch([q('k')]);
  assert.equal(inner.singles, 2);
  assert.equal(inner.batches.length, 1);
  assert.equal(cache.size, 0);
});

test('bad options are refused with what is wrong', () => {
  const inner = new ScriptedAuthorizer();
  assert.throws(
    () => new CachingAuthorizer(inner, { ttlMs: -1 }),
    /ttlMs must be a finite number of milliseconds >= 0/,
  );
  assert.throws(() => new CachingAuthorizer(inner, { ttlMs: Number.NaN }), /ttlMs/);
  assert.throws(() => new CachingAuthorizer(inner, { maxEntries: 0 }), /maxEntries must be a whole number >= 1/);
  assert.throws(() => new CachingAuthorizer(inner, { maxEntries: 1.5 }), /maxEntries/);
});

test('each question is reported as a hit (answered here) or a miss (asked of ras), singly and in batches', async () => {
  const seen: string[] = [];
  const { inner, cache } = scriptedCache({ onLookup: (r) => seen.push(r) });
  await cache.check(q('a'));
  await cache.check(q('a'));
  let release = () => undefined as void;
  inner.gate = new Promise<void>((r) => (release = r));
  const together = Promise.all([cache.check(q('b')), cache.check(q('b'))]);
  release();
  await together;
  inner.gate = undefined;
  await cache.checkBatch([q('a'), q('c'), q('c'), q('d')]);
  assert.deepEqual(seen, ['miss', 'hit', 'miss', 'hit', 'hit', 'hit', 'miss', 'miss']);
  assert.equal(inner.singles, 2);
  assert.equal(inner.batches[0]?.length, 2);
  const off: string[] = [];
  const uncached = scriptedCache({ ttlMs: 0, onLookup: (r) => off.push(r) }).cache;
  await uncached.check(q('a'));
  await uncached.checkBatch([q('a'), q('a')]);
  assert.deepEqual(off, ['miss', 'miss', 'miss']);
});
