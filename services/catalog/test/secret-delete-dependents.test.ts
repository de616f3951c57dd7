/** deleting a managed secret asks the deployer's reference index and fences the key. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { rejection } from './support.js';
import { useVaultWorld, world } from './vault-world.js';

useVaultWorld();

describe('managed secrets and their dependents', () => {
  test('deleting a managed secret checks and fences the key in one call to the deployer, deletes, then lifts the fence, also when there was nothing to delete', async (t) => {
    const w = await world(t);
    const scope = { domain: 'analytics', global: false };
    await w.secrets.put('alice', { scope, key: 'gone', value: Buffer.from('gone-value'), description: '' });
    let listedBetween: string[] | undefined;
    w.dependents.betweenCheckAndDelete = async () => {
      listedBetween = (await w.secrets.list('alice', scope)).map((m) => m.key);
    };
    await w.secrets.delete('alice', scope, 'gone', false, undefined, 0);
    assert.deepEqual(listedBetween, ['gone'], 'the check came before the delete');
    assert.equal(w.dependents.calls[0], 'begin MANAGED|analytics|gone force=false');
    assert.match(w.dependents.calls[1] ?? '', /^end [0-9a-f-]{36}$/);
    assert.equal(w.dependents.fences.size, 0);
    assert.equal((await rejection(w.secrets.delete('alice', scope, 'gone'))).code, 'secret.not_found');
    assert.equal(w.dependents.calls.length, 4);
    assert.equal(w.dependents.fences.size, 0, 'lifted after the failed delete too');
    // Refused for its dependents: nothing fenced, nothing to lift.
    await w.secrets.put('alice', { scope, key: 'used', value: Buffer.from('used-value'), description: '' });
    w.dependents.refs.set('MANAGED|analytics|used', ['analytics/etl']);
    assert.equal((await rejection(w.secrets.delete('alice', scope, 'used'))).code, 'secret.in_use');
    assert.deepEqual(w.dependents.calls.slice(4), ['begin MANAGED|analytics|used force=false']);
  });

  test('deleting a referenced managed secret is refused unless forced, and names the workloads', async (t) => {
    const w = await world(t);
    const scope = { domain: 'analytics', global: false };
    await w.secrets.put('alice', { scope, key: 'used', value: Buffer.from('used-value'), description: '' });
    w.dependents.refs.set('MANAGED|analytics|used', ['analytics/etl']);
    const err = await rejection(w.secrets.delete('alice', scope, 'used'));
    assert.equal(err.code, 'secret.in_use');
    assert.match(err.message, /analytics\/etl/);
    assert.equal((await w.secrets.list('alice', scope)).length, 1);
    const forced = await w.secrets.delete('alice', scope, 'used', true);
    assert.deepEqual(forced.dependents, ['analytics/etl']);
    assert.equal((await w.secrets.list('alice', scope)).length, 0);
  });
});
