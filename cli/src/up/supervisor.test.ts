import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from '@latchkey/testing';
import type { ExitInfo } from './service-process.js';
import { restartDelayMs, Supervisor } from './supervisor.js';

/** A process that exits when told to: `crash()` (unexpected) or `stop()` (asked). */
function fakeProcess(id: number) {
  let exit: (e: ExitInfo) => void = () => undefined;
  const exited = new Promise<ExitInfo>((resolve) => (exit = resolve));
  return {
    id,
    exited,
    stopped: false,
    crash: () => exit({ code: null, signal: 'SIGKILL' }),
    async stop() {
      this.stopped = true;
      exit({ code: 0, signal: null });
      await exited;
    },
  };
}

test('the restart delay doubles from the first one up to the cap', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7].map((n) => restartDelayMs(n)),
    [500, 1000, 2000, 4000, 8000, 8000, 8000],
  );
});

test('a process that dies unexpectedly is restarted and reported; one stopped by the launcher is not', async () => {
  const procs = [fakeProcess(0)];
  const lines: string[] = [];
  let gaveUp = '';
  const sup = new Supervisor({
    name: 'service ras-2',
    first: procs[0]!,
    restart: async () => {
      const p = fakeProcess(procs.length);
      procs.push(p);
      return p;
    },
    report: (l) => lines.push(l),
    keepRunning: () => true,
    giveUp: (why) => (gaveUp = why),
    logFile: '/logs/ras-2.log',
    firstDelayMs: 1,
  });
  procs[0]!.crash();
  await waitFor(() => sup.current.id === 1, { what: 'the restart' });
  assert.match(
    lines[0]!,
    /service ras-2 stopped unexpectedly \(signal SIGKILL\), see \/logs\/ras-2.log; restarting it in 1 ms \(restart 1\)/,
  );
  assert.match(lines[1]!, /service ras-2 restarted/);
  await sup.stop();
  assert.equal(procs[1]!.stopped, true);
  // Its exit on stop() is expected: nothing more is started.
  await new Promise((r) => setImmediate(r));
  assert.equal(procs.length, 2);
  assert.equal(gaveUp, '');
});

test('a process that keeps dying quickly is given up on after the bounded restarts', async () => {
  const procs = [fakeProcess(0)];
  let gaveUp = '';
  const sup = new Supervisor({
    name: 'NATS node latchkey-2',
    first: procs[0]!,
    restart: async () => {
      const p = fakeProcess(procs.length);
      procs.push(p);
      // Dies at once, each time.
      setImmediate(() => p.crash());
      return p;
    },
    report: () => undefined,
    keepRunning: () => true,
    giveUp: (why) => (gaveUp = why),
    maxRestarts: 3,
    firstDelayMs: 1,
  });
  procs[0]!.crash();
  await waitFor(() => gaveUp !== '', { what: 'the supervisor to give up' });
  assert.equal(procs.length, 4, 'the first start and three restarts');
  assert.match(
    gaveUp,
    /NATS node latchkey-2 stopped unexpectedly \(signal SIGKILL\), 3 restarts in a row did not keep it up/,
  );
  await sup.stop();
});

test('a restart that fails counts as a death and is tried again after a longer delay', async () => {
  let attempts = 0;
  const lines: string[] = [];
  const first = fakeProcess(0);
  const sup = new Supervisor({
    name: 'service catalog-1',
    first,
    restart: async () => {
      attempts++;
      if (attempts === 1) throw new Error('port 7402 is in use');
      return fakeProcess(attempts);
    },
    report: (l) => lines.push(l),
    keepRunning: () => true,
    giveUp: () => undefined,
    firstDelayMs: 1,
  });
  first.crash();
  await waitFor(() => sup.current.id === 2, { what: 'the second restart attempt' });
  assert.match(lines[1]!, /its restart failed: port 7402 is in use\); restarting it in 2 ms \(restart 2\)/);
  await sup.stop();
});

test('an exit while the launcher shuts down is not restarted', async () => {
  let restarts = 0;
  const first = fakeProcess(0);
  let shuttingDown = false;
  const sup = new Supervisor({
    name: 'service deployer-1',
    first,
    restart: async () => {
      restarts++;
      return fakeProcess(1);
    },
    report: () => undefined,
    keepRunning: () => !shuttingDown,
    giveUp: () => undefined,
    firstDelayMs: 1,
  });
  shuttingDown = true;
  first.crash();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(restarts, 0);
  await sup.stop();
});
