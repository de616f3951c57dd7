import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chaosRounds, chaosSeed, runChaos } from './chaos/run.js';

// npm test runs 10 rounds; `npm run chaos` runs the long loop (CHAOS_ROUNDS, default 100) through the same code.
test(
  'crash loop: SIGKILL of a random process (any service replica, nats-server, PostgreSQL) at random moments while deploys, redeploys, stops and rotations go on; every invariant holds against the driver’s record',
  { timeout: 20 * 60_000 },
  async () => {
    const report = await runChaos({
      rounds: chaosRounds(10),
      seed: chaosSeed(),
      log: (line) => process.stdout.write(`${line}\n`),
    });
    assert.equal(report.kills.total, report.rounds, 'one kill per round');
    assert.ok(report.deploys.accepted > 0, 'the driver had deploys accepted');
    assert.ok(report.rotations.managed > 0 && report.rotations.vault > 0, 'both kinds of rotation happened');
    for (const i of report.invariants) {
      assert.ok(i.checked > 0, `${i.name}: something was checked`);
      assert.deepEqual(i.examples, [], `${i.name}: ${i.violations} violations (seed ${report.seed})`);
    }
  },
);
