import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VaultKeyListings } from './vault-key-listings.js';

const at = (ms: number) => new Date(ms);
const keys = (n: number, prefix = 'k') => ({
  ok: true as const,
  keys: Array.from({ length: n }, (_, i) => `${prefix}${i}`),
});

test('a listing serves while young and while the integration is unchanged', () => {
  let now = 0;
  const cache = new VaultKeyListings({ maxAgeMs: 60_000, now: () => now });
  cache.set('i1', at(1), keys(3));
  assert.deepEqual(cache.get('i1', at(1)), keys(3));
  assert.equal(cache.get('i1', at(2)), undefined, 'the integration changed since');
  assert.equal(cache.get('i1', at(1)), undefined, 'and the stale listing is gone');
  cache.set('i1', at(2), keys(3));
  now = 60_000;
  assert.deepEqual(cache.get('i1', at(2)), keys(3));
  now = 60_001;
  assert.equal(cache.get('i1', at(2)), undefined, 'too old');
  assert.deepEqual(cache.stats, { entries: 0, keys: 0 });
});

test('a failed listing is held too, so that the following pages do not wait for the same failure', () => {
  const cache = new VaultKeyListings();
  cache.set('i1', at(1), { ok: false, reason: 'vault.timeout: did not answer within 5 s' });
  assert.deepEqual(cache.get('i1', at(1)), { ok: false, reason: 'vault.timeout: did not answer within 5 s' });
});

test('held keys stay within the bound, least recently used out first; a listing over the bound is not held', () => {
  const cache = new VaultKeyListings({ maxKeys: 10, maxEntries: 3 });
  cache.set('a', at(1), keys(4));
  cache.set('b', at(1), keys(4));
  assert.ok(cache.get('a', at(1)), 'a is now the most recently used');
  cache.set('c', at(1), keys(4)); // 12 keys: b goes
  assert.equal(cache.get('b', at(1)), undefined);
  assert.ok(cache.get('a', at(1)));
  assert.ok(cache.get('c', at(1)));
  assert.deepEqual(cache.stats, { entries: 2, keys: 8 });
  cache.set('d', at(1), keys(0));
  cache.set('e', at(1), keys(0)); // 4 entries: a (least recent) goes
  assert.deepEqual(cache.stats, { entries: 3, keys: 4 });
  assert.equal(cache.get('a', at(1)), undefined);
  cache.set('huge', at(1), keys(11));
  assert.equal(cache.get('huge', at(1)), undefined);
  assert.deepEqual(cache.stats, { entries: 3, keys: 4 });
  // Replacing a listing counts its keys once.
  cache.set('c', at(1), keys(2));
  cache.set('c', at(1), keys(2));
  assert.deepEqual(cache.stats, { entries: 3, keys: 2 });
});
