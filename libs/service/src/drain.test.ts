import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Logger } from '@latchkey/logger';
import { Drain } from './drain.js';

function recordingLogger(lines: string[]): Logger {
  const log: Logger = {
    debug: () => undefined,
    info: () => undefined,
    warn: (message, fields) => lines.push(`${message} (${String(fields?.stage)})`),
    error: () => undefined,
    child: () => log,
  };
  return log;
}

test('a drain runs its stages in order whatever order they were registered in: server first, then the pool, buffered spans last', async () => {
  const ran: string[] = [];
  const drain = new Drain(recordingLogger([]));
  drain.add('telemetry', () => void ran.push('span export'));
  drain.add('pool', () => void ran.push('pool'));
  drain.add('bus', () => void ran.push('bus'));
  drain.add('clients', () => void ran.push('ras client'));
  drain.add('relay', async () => {
    await new Promise((r) => setTimeout(r, 5));
    ran.push('relay flush');
  });
  drain.add('service', () => void ran.push('running workloads'));
  drain.add('consumers', () => void ran.push('consumer a'));
  drain.add('consumers', () => void ran.push('consumer b'));
  drain.add('tasks', () => void ran.push('task'));
  drain.add('subscriptions', () => void ran.push('subscription'));
  drain.add('server', () => void ran.push('server'));
  await drain.run();
  assert.deepEqual(ran, [
    'server',
    'subscription',
    'task',
    'consumer a',
    'consumer b',
    'running workloads',
    'relay flush',
    'ras client',
    'bus',
    'pool',
    'span export',
  ]);
});

test('a drain runs once: a second SIGTERM waits for the first drain and repeats nothing', async () => {
  let closed = 0;
  const drain = new Drain(recordingLogger([]));
  drain.add('bus', async () => {
    await new Promise((r) => setTimeout(r, 5));
    closed += 1;
  });
  const first = drain.run();
  const second = drain.run();
  await Promise.all([first, second]);
  await drain.run();
  assert.equal(closed, 1);
});

test('a failing step is logged and the drain goes on: the bus and the pool are still closed', async () => {
  const ran: string[] = [];
  const warnings: string[] = [];
  const drain = new Drain(recordingLogger(warnings));
  drain.add('consumers', () => {
    throw new Error('consumer stuck');
  });
  drain.add('bus', () => void ran.push('bus'));
  drain.add('pool', () => void ran.push('pool'));
  await drain.run();
  assert.deepEqual(ran, ['bus', 'pool']);
  assert.deepEqual(warnings, ['a drain step failed; draining goes on (consumers)']);
});
