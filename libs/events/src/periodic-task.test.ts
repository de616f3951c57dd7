import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatchkeyError } from '@latchkey/errors';
import type { Logger } from '@latchkey/logger';
import { silentLogger } from '@latchkey/logger';
import { waitFor } from '@latchkey/testing';
import { PeriodicTask } from './periodic-task.js';

const HOUR = 3_600_000;

test('start(0) runs at once; a kick brings the next run forward; runs never overlap', async (t) => {
  let runs = 0;
  let inFlight = 0;
  let most = 0;
  let release: () => void = () => undefined;
  const task = new PeriodicTask({
    name: 'job',
    intervalMs: HOUR,
    logger: silentLogger,
    run: async () => {
      runs++;
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise<void>((r) => (release = r));
      inFlight--;
    },
  });
  t.after(() => task.stop());
  task.start(0);
  await waitFor(() => runs === 1, { what: 'the first run' });
  task.kick(0); // while the first run is in progress: deferred, not lost, not concurrent
  release();
  await waitFor(() => runs === 2, { what: 'the kicked run, after the first' });
  release();
  assert.equal(most, 1);
});

test('a failing run is logged with its code only, and the task goes on; stop() waits for a run in progress', async () => {
  const warnings: { msg: string; fields: unknown }[] = [];
  const logger: Logger = { ...silentLogger, warn: (msg, fields) => void warnings.push({ msg, fields }) };
  let runs = 0;
  let finished = false;
  const task = new PeriodicTask({
    name: 'job',
    intervalMs: HOUR,
    logger,
    run: async () => {
      runs++;
      if (runs === 1) throw new LatchkeyError('vault.unreachable', 'secret-looking detail', { retryable: true });
      await new Promise((r) => setTimeout(r, 50));
      finished = true;
    },
  });
  task.start(0);
  await waitFor(() => warnings.length === 1, { what: 'the failure to be logged' });
  assert.deepEqual(warnings, [
    { msg: 'job failed; it runs again at the next interval', fields: { code: 'vault.unreachable' } },
  ]);
  task.kick(0);
  await waitFor(() => runs === 2, { what: 'the next run' });
  await task.stop();
  assert.equal(finished, true, 'stop() waited for the run in progress');
});

test('a run that throws before returning a promise is a failed run, logged, and the task goes on', async (t) => {
  const warnings: string[] = [];
  const logger: Logger = { ...silentLogger, warn: (msg) => void warnings.push(msg) };
  let calls = 0;
  const task = new PeriodicTask({
    name: 'sync-thrower',
    intervalMs: HOUR,
    logger,
    run: () => {
      calls++;
      throw new LatchkeyError('x.broken', 'thrown at once');
    },
  });
  t.after(() => task.stop());
  task.start(0);
  await waitFor(() => warnings.length === 1, { what: 'the failure to be logged' });
  task.kick(0);
  await waitFor(() => calls === 2, { what: 'the next run' });
});

test('an interval beyond what a timer holds (24.8 days) is handed to setTimeout capped, not as is (Node would fire it at once)', async (t) => {
  let runs = 0;
  const timeout = t.mock.method(globalThis, 'setTimeout');
  const task = new PeriodicTask({
    name: 'monthly',
    intervalMs: 40 * 24 * HOUR,
    logger: silentLogger,
    run: () => {
      runs++;
      return Promise.resolve();
    },
  });
  t.after(() => task.stop());
  task.start(0);
  await waitFor(() => runs === 1 && timeout.mock.calls.length >= 2, { what: 'the first run and the next timer' });
  const delays = timeout.mock.calls.map((c) => Number(c.arguments[1]));
  assert.ok(
    delays.some((d) => d === 2 ** 31 - 1),
    `the 40-day delay is capped: ${delays.join(', ')}`,
  );
  assert.ok(delays.every((d) => d <= 2 ** 31 - 1));
});
