import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CHROMIUM, ensureChromiumBinary } from './chromium-binary.js';
import { InfraError } from './infra-errors.js';
import { ensureSystemBinary } from './system-binary.js';

test('LATCHKEY_CHROMIUM_BIN pointing at a missing file fails with infra.binary_missing naming it', async () => {
  const previous = process.env['LATCHKEY_CHROMIUM_BIN'];
  process.env['LATCHKEY_CHROMIUM_BIN'] = '/nonexistent/chromium';
  try {
    await assert.rejects(ensureChromiumBinary({ allowInstall: false }), (err: unknown) => {
      assert.ok(err instanceof InfraError);
      assert.equal(err.code, 'infra.binary_missing');
      assert.match(err.message, /LATCHKEY_CHROMIUM_BIN points at \/nonexistent\/chromium/);
      return true;
    });
  } finally {
    if (previous === undefined) delete process.env['LATCHKEY_CHROMIUM_BIN'];
    else process.env['LATCHKEY_CHROMIUM_BIN'] = previous;
  }
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
