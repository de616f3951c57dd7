/** VaultVersionWatch: Vault-side rotations announced as secret.changed. */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { vault, useVaultWorld, world, create, outboxEvents, putVersions, type World } from './vault-world.js';

useVaultWorld();

/** A world whose workloads run version 1 of key k while Vault already holds version 2. */
async function rotatedSinceDeploy(t: TestContext): Promise<World> {
  const w = await world(t);
  const i = await create(w);
  await putVersions(w, 'k', 'one-1', 'two-2');
  w.dependents.deployed = [{ integrationId: i.id, key: 'k', version: 1 }];
  return w;
}

describe('version watch', () => {
  test('a Vault-side rotation is announced once as secret.changed; a second round announces nothing', async (t) => {
    const w = await world(t);
    const i = await create(w);
    await putVersions(w, 'k', 'one-1');
    w.dependents.deployed = [{ integrationId: i.id, key: 'k', version: 1 }];
    const watch = w.watch();
    assert.equal((await watch.pollOnce())?.announced, 0, 'nothing moved yet');
    await putVersions(w, 'k', 'two-2');
    assert.equal((await watch.pollOnce())?.announced, 1);
    assert.equal((await watch.pollOnce())?.announced, 0, 'announced once');
    const events = await outboxEvents(w.pool);
    assert.equal(events.length, 1);
    const [ev] = events;
    assert.equal(ev?.subject, 'latchkey.secret.changed.analytics');
    assert.deepEqual(ev?.data, {
      scope: i.id,
      domain: 'analytics',
      key: 'k',
      source: 'VAULT',
      version: 2,
      change: 'updated',
      by: 'vault-watch',
    });
  });

  test('a dependent already on the new version does not hide it from one still behind: the change is announced', async (t) => {
    const w = await world(t);
    const i = await create(w);
    await putVersions(w, 'k', 'one-1', 'two-2');
    // One workload was redeployed onto version 2 before this round; another still holds version 1.
    w.dependents.deployed = [
      { integrationId: i.id, key: 'k', version: 2 },
      { integrationId: i.id, key: 'k', version: 1 },
    ];
    assert.equal((await w.watch().pollOnce())?.announced, 1);
    assert.deepEqual(
      (await outboxEvents(w.pool)).map((e) => (e.data as { version: number }).version),
      [2],
    );
  });

  test('two replicas polling at once announce a change once', async (t) => {
    const w = await rotatedSinceDeploy(t);
    await Promise.all([w.watch().pollOnce(), w.watch().pollOnce(), w.watch().pollOnce()]);
    assert.equal((await outboxEvents(w.pool)).length, 1);
  });

  test('an unavailable integration is skipped this round and asked again the next', async (t) => {
    const w = await rotatedSinceDeploy(t);
    vault.seal(true);
    let round;
    try {
      round = await w.watch().pollOnce();
    } finally {
      vault.seal(false);
    }
    assert.deepEqual({ failed: round?.failed, announced: round?.announced }, { failed: 1, announced: 0 });
    assert.equal((await w.watch().pollOnce())?.announced, 1);
  });
});
