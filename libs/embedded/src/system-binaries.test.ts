import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { InfraError } from './infra-errors.js';
import { CHROMIUM, ensureChromiumBinary, ensureNatsServerBinary } from './system-binaries.js';
import { ensureSystemBinary } from './system-binary.js';

/** Runs `body` with the variable `name` set to `value`, then puts back what it was. */
async function withEnv(name: string, value: string, body: () => Promise<void>): Promise<void> {
  const previous = process.env[name];
  process.env[name] = value;
  try {
    await body();
  } finally {
    if (previous === undefined) delete process.env[name];
    else process.env[name] = previous;
  }
}

/** With `envVar` naming the missing `file`, `ensure` fails with infra.binary_missing and a message matching `message`. */
async function assertVariableNamesMissingFile(
  envVar: string,
  file: string,
  ensure: (opts: { allowInstall: boolean }) => Promise<string>,
  message: RegExp,
): Promise<void> {
  await withEnv(envVar, file, () =>
    assert.rejects(ensure({ allowInstall: false }), (err: unknown) => {
      assert.ok(err instanceof InfraError);
      assert.equal(err.code, 'infra.binary_missing');
      assert.match(err.message, message);
      return true;
    }),
  );
}

test('ensureNatsServerBinary returns an absolute path to an installed nats-server', async () => {
  const binary = await ensureNatsServerBinary();
  assert.ok(path.isAbsolute(binary));
  assert.match(path.basename(binary), /^nats-server$/);
});

test('LATCHKEY_NATS_SERVER_BIN pointing at a missing file fails with infra.binary_missing naming it', async () => {
  await assertVariableNamesMissingFile(
    'LATCHKEY_NATS_SERVER_BIN',
    '/nonexistent/nats-server',
    ensureNatsServerBinary,
    /\/nonexistent\/nats-server/,
  );
});

test('LATCHKEY_NATS_SERVER_BIN selects the binary to use', async () => {
  const real = await ensureNatsServerBinary();
  await withEnv('LATCHKEY_NATS_SERVER_BIN', real, async () => {
    assert.equal(await ensureNatsServerBinary({ allowInstall: false }), real);
  });
});

test('LATCHKEY_CHROMIUM_BIN pointing at a missing file fails with infra.binary_missing naming it', async () => {
  await assertVariableNamesMissingFile(
    'LATCHKEY_CHROMIUM_BIN',
    '/nonexistent/chromium',
    ensureChromiumBinary,
    /LATCHKEY_CHROMIUM_BIN points at \/nonexistent\/chromium/,
  );
});

test("where Chromium is missing and cannot be installed, the error says to install Debian's chromium package or set LATCHKEY_CHROMIUM_BIN", async () => {
  // The same description under a file name no machine has: what a plain user without Chromium is told.
  const missing = { ...CHROMIUM, binary: 'latchkey-test-no-such-chromium' };
  await assert.rejects(ensureSystemBinary(missing, { allowInstall: false }), (err: unknown) => {
    assert.ok(err instanceof InfraError);
    assert.equal(err.code, 'infra.binary_missing');
    assert.match(err.message, /sudo apt-get install chromium\)/);
    assert.match(err.message, /LATCHKEY_CHROMIUM_BIN/);
    return true;
  });
});
