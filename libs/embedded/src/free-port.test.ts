import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
  assertPortFree,
  ephemeralPortRange,
  findFreePort,
  isPortFree,
  logSaysPortTaken,
  portTakenWhileStarting,
  startOnFreePort,
} from './free-port.js';
import { InfraError } from './infra-errors.js';

function listen(port: number, host: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

test('findFreePort returns a port that can be bound', async () => {
  const port = await findFreePort();
  assert.ok(port > 0 && port < 65536);
  assert.equal(await isPortFree(port, '127.0.0.1'), true);
});

test('assertPortFree rejects a taken port with infra.port_in_use naming the service and the env var', async () => {
  const port = await findFreePort();
  const server = await listen(port, '127.0.0.1');
  try {
    await assert.rejects(assertPortFree(port, '127.0.0.1', 'NATS'), (err: unknown) => {
      assert.ok(err instanceof InfraError);
      assert.equal(err.code, 'infra.port_in_use');
      assert.equal(
        err.message,
        `port ${port} (NATS) is already in use on 127.0.0.1: stop what uses it or set LATCHKEY_NATS_PORT`,
      );
      return true;
    });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('assertPortFree accepts a free port', async () => {
  await assertPortFree(await findFreePort(), '127.0.0.1', 'PostgreSQL');
});

test('findFreePort picks below the kernel ephemeral range, where outgoing connections cannot take the port', async () => {
  const range = ephemeralPortRange();
  if (range === undefined) {
    assert.ok((await findFreePort()) > 0);
    return;
  }
  for (let i = 0; i < 20; i++) {
    const port = await findFreePort();
    assert.ok(port >= 20_000 && port < range[0], `port ${port} is outside [20000, ${range[0]})`);
  }
});

test('ephemeralPortRange reads the kernel file and gives undefined for a missing or garbled one', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'latchkey-port-range-'));
  try {
    const file = path.join(dir, 'range');
    await fs.writeFile(file, '32768\t60999\n');
    assert.deepEqual(ephemeralPortRange(file), [32768, 60999]);
    await fs.writeFile(file, 'nonsense\n');
    assert.equal(ephemeralPortRange(file), undefined);
    assert.equal(ephemeralPortRange(path.join(dir, 'missing')), undefined);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});

test("logSaysPortTaken recognises PostgreSQL's and nats-server's bind failures", () => {
  assert.equal(logSaysPortTaken('LOG:  could not bind IPv4 address "127.0.0.1": Address already in use'), true);
  assert.equal(logSaysPortTaken('listen tcp 127.0.0.1:4222: bind: address already in use'), true);
  assert.equal(logSaysPortTaken('FATAL:  could not create shared memory segment'), false);
});

test('startOnFreePort picks another port when the first is taken while starting, and gives up after its attempts', async () => {
  const tried: number[] = [];
  const started = await startOnFreePort(async (port) => {
    tried.push(port);
    if (tried.length === 1) throw portTakenWhileStarting(port, '127.0.0.1', 'PostgreSQL', 'Address already in use');
    return `up on ${port}`;
  });
  assert.equal(tried.length, 2);
  assert.equal(started, `up on ${tried[1]}`);

  let calls = 0;
  await assert.rejects(
    startOnFreePort(
      (port) => {
        calls++;
        return Promise.reject(portTakenWhileStarting(port, '127.0.0.1', 'NATS', ''));
      },
      { attempts: 3 },
    ),
    (err: unknown) => err instanceof InfraError && err.code === 'infra.port_in_use',
  );
  assert.equal(calls, 3);
});

test('startOnFreePort does not retry a failure that is not about the port', async () => {
  let calls = 0;
  await assert.rejects(
    startOnFreePort(() => {
      calls++;
      return Promise.reject(new InfraError('infra.start_failed', 'initdb failed'));
    }),
    /initdb failed/,
  );
  assert.equal(calls, 1);
});
