import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { InfraError } from './infra-errors.js';
import { ensureNatsServerBinary } from './nats-server-binary.js';

test('ensureNatsServerBinary returns an absolute path to an installed nats-server', async () => {
  const binary = await ensureNatsServerBinary();
  assert.ok(path.isAbsolute(binary));
  assert.match(path.basename(binary), /^nats-server$/);
});

test('LATCHKEY_NATS_SERVER_BIN pointing at a missing file fails with infra.binary_missing naming it', async () => {
  const previous = process.env['LATCHKEY_NATS_SERVER_BIN'];
  process.env['LATCHKEY_NATS_SERVER_BIN'] = '/nonexistent/nats-server';
  try {
    await assert.rejects(ensureNatsServerBinary({ allowInstall: false }), (err: unknown) => {
      assert.ok(err instanceof InfraError);
      assert.equal(err.code, 'infra.binary_missing');
      assert.match(err.message, /\/nonexistent\/nats-server/);
      return true;
    });
  } finally {
    if (previous === undefined) delete process.env['LATCHKEY_NATS_SERVER_BIN'];
    else process.env['LATCHKEY_NATS_SERVER_BIN'] = previous;
  }
});

test('LATCHKEY_NATS_SERVER_BIN selects the binary to use', async () => {
  const real = await ensureNatsServerBinary();
  const previous = process.env['LATCHKEY_NATS_SERVER_BIN'];
  process.env['LATCHKEY_NATS_SERVER_BIN'] = real;
  try {
    assert.equal(await ensureNatsServerBinary({ allowInstall: false }), real);
  } finally {
    if (previous === undefined) delete process.env['LATCHKEY_NATS_SERVER_BIN'];
    else process.env['LATCHKEY_NATS_SERVER_BIN'] = previous;
  }
});
