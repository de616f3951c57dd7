import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { connect, StringCodec } from 'nats';
import { isPidAlive } from './child-registry.js';
import { findFreePort } from './free-port.js';
import { ensureNatsServerBinary } from './system-binaries.js';
import { startNatsServer } from './nats-server-process.js';
import { inTempDir, refusesTakenPort, rejectsWithInfraError, tempDir } from './test/process-fixture.js';

const tempStore = () => tempDir('latchkey-nats-test-');

test('nats-server starts with JetStream: a stream stores a published message that can be read back', async () => {
  const binary = await ensureNatsServerBinary();
  const store = await tempStore();
  const server = await startNatsServer({ port: await findFreePort(), storeDir: store.dir, binary, serverName: 'test' });
  try {
    assert.equal(server.url, `nats://127.0.0.1:${server.port}`);
    const nc = await connect({ servers: server.url });
    try {
      const jsm = await nc.jetstreamManager();
      const info = await jsm.getAccountInfo();
      assert.equal(typeof info.streams, 'number');
      await jsm.streams.add({ name: 'ORDERS', subjects: ['orders.>'] });
      const sc = StringCodec();
      const js = nc.jetstream();
      const ack = await js.publish('orders.created', sc.encode('hello'));
      assert.equal(ack.stream, 'ORDERS');
      const stored = await jsm.streams.getMessage('ORDERS', { seq: ack.seq });
      assert.equal(sc.decode(stored.data), 'hello');
      assert.equal(stored.subject, 'orders.created');
    } finally {
      await nc.close();
    }
  } finally {
    await server.stop();
    await store.cleanup();
  }
});

test('stop() terminates nats-server and frees its port', async () => {
  const store = await tempStore();
  const server = await startNatsServer({ port: await findFreePort(), storeDir: store.dir });
  try {
    assert.equal(isPidAlive(server.pid), true);
    await server.stop();
    const exit = await server.exited;
    assert.ok(exit.code !== null || exit.signal !== null);
    assert.equal(isPidAlive(server.pid), false);
    await assert.rejects(connect({ servers: server.url, reconnect: false, timeout: 1000 }));
    await server.stop(); // idempotent
  } finally {
    await store.cleanup();
  }
});

test('starting nats-server on a port in use fails with infra.port_in_use', async () => {
  await inTempDir('latchkey-nats-test-', (storeDir) =>
    refusesTakenPort(
      (port) => startNatsServer({ port, storeDir }),
      (err, port) => assert.match(err.message, new RegExp(`port ${port} \\(NATS\\) is already in use`)),
    ),
  );
});

test('nats-server that exits during startup fails with infra.start_failed carrying its last log lines', async () => {
  await inTempDir('latchkey-nats-test-', async (dir) => {
    const fake = path.join(dir, 'fake-nats-server');
    await fs.writeFile(fake, '#!/bin/sh\necho "boom: cannot open store" >&2\nexit 3\n', { mode: 0o755 });
    await rejectsWithInfraError(
      startNatsServer({ port: await findFreePort(), storeDir: path.join(dir, 'js'), binary: fake }),
      'infra.start_failed',
      (err) => {
        assert.match(err.message, /exited before it was ready \(code 3/);
        assert.match(err.message, /boom: cannot open store/);
      },
    );
  });
});

test('a JetStream store dir below a file fails with infra.data_dir_unreadable naming the path', async () => {
  await inTempDir('latchkey-nats-test-', async (dir) => {
    const file = path.join(dir, 'not-a-dir');
    await fs.writeFile(file, 'x');
    await rejectsWithInfraError(
      startNatsServer({ port: await findFreePort(), storeDir: path.join(file, 'js') }),
      'infra.data_dir_unreadable',
      (err) => assert.match(err.message, /not-a-dir/),
    );
  });
});

test('nats-server that loses its port to another process while starting fails with infra.port_in_use', async () => {
  await inTempDir('latchkey-nats-test-', async (dir) => {
    const fake = path.join(dir, 'fake-nats-server');
    // The line nats-server 2.9 prints when its bind fails.
    await fs.writeFile(
      fake,
      '#!/bin/sh\necho "[FTL] Error listening on port: 127.0.0.1:$6, \\"listen tcp 127.0.0.1:$6: bind: address already in use\\"" >&2\nexit 1\n',
      { mode: 0o755 },
    );
    const port = await findFreePort();
    await rejectsWithInfraError(
      startNatsServer({ port, storeDir: path.join(dir, 'js'), binary: fake }),
      'infra.port_in_use',
      (err) => {
        assert.equal(
          err.message,
          `port ${port} (NATS) was taken by another process on 127.0.0.1 while NATS started: stop what uses it or set LATCHKEY_NATS_PORT`,
        );
        assert.match(err.details ?? '', /address already in use/);
      },
    );
  });
});
