import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { assertPortFree, findFreePort, isPortFree } from './free-port.js';
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
