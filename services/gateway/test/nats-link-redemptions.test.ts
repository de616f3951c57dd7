import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { silentLogger } from '@latchkey/logger';
import { connectBus, type Bus } from '@latchkey/nats';
import { startTestNats, type TestNats } from '@latchkey/testing';
import { natsLinkRedemptions } from '../src/session/nats-link-redemptions.js';

let nats: TestNats;
let replicas: Bus[] = [];

before(async () => {
  nats = await startTestNats();
  // Two gateway replicas: two connections, each opening the bucket itself.
  replicas = [
    await connectBus(nats.url, 'gateway-1', silentLogger),
    await connectBus(nats.url, 'gateway-2', silentLogger),
  ];
});
after(async () => {
  for (const bus of replicas) await bus.drain();
  await nats.stop();
});

test('a login link is redeemed once across gateway replicas: the first redemption wins, every later one on any replica is "used"', async () => {
  const [one, two] = await Promise.all(replicas.map((bus) => natsLinkRedemptions(bus)));
  assert.ok(one !== undefined && two !== undefined);
  const exp = new Date(Date.now() + 300_000);
  assert.equal(await one.redeem('link-a', exp), 'first');
  assert.equal(await two.redeem('link-a', exp), 'used');
  assert.equal(await one.redeem('link-a', exp), 'used');
  // At once on both replicas: exactly one wins.
  const raced = await Promise.all([one.redeem('link-b', exp), two.redeem('link-b', exp)]);
  assert.deepEqual(raced.sort(), ['first', 'used']);
  assert.equal(await two.redeem('link-c', exp), 'first');
});
