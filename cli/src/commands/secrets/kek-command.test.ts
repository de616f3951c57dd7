import assert from 'node:assert/strict';
import { test } from 'node:test';
import { main } from '../../main.js';
import { useFakeServices } from '../../testing/fake-services.js';

const fake = useFakeServices({
  catalog: {
    rotateKek: (_call, cb) => cb(null, { newKekId: 'kek-2', rewrapped: 7, retiredKekIds: ['kek-1'] }),
  },
});

test('kek rotate prints the new kek and the re-wrap count', async () => {
  const out = fake.io();
  assert.equal(await main(['kek', 'rotate'], out), 0);
  assert.deepEqual(out.stdoutLines, ['new kek kek-2; 7 data keys re-wrapped', 'retired: kek-1']);
  const json = fake.io();
  assert.equal(await main(['kek', 'rotate', '--json'], json), 0);
  assert.deepEqual(JSON.parse(json.stdoutLines.join('\n')), {
    newKekId: 'kek-2',
    rewrapped: 7,
    retiredKekIds: ['kek-1'],
  });
});
